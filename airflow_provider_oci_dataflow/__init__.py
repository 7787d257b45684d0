"""Where Airflow looks for this provider's example DAGs; the provider itself is ``airflow_provider_dataflow``.

With ``[core] load_examples`` on, Airflow 3.3 imports the module named like each provider's distribution
(``airflow-provider-oci-dataflow`` -> ``airflow_provider_oci_dataflow``) and adds the ``example_dags/``
folder beside it as a DAG bundle. In a checkout, ``example_dags`` here links to the repository's
top-level folder; the wheel carries the files themselves.
"""
