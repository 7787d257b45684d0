"""Apache Airflow provider for OCI Data Flow."""

__version__ = "0.2.0.dev0"  # 0.2.0 at release (CHANGELOG.md)
