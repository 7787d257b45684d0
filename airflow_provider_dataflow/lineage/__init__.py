"""OpenLineage for Data Flow runs (optional extra ``[openlineage]``): property injection and facets."""
