"""Apache Airflow provider for OCI Data Flow."""

__version__ = "0.1.0"
