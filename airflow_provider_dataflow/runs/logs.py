"""Which OCI Logging logs a task streams: the DAG author's ``stream_logs``, checked before any API call.

``True`` streams the run's application log (its ``application_log_config``, own or inherited); a list
names more logs, such as the application's Spark diagnostic log (a Logging service log the Data Flow API
does not name): ``{"log_group_id": ..., "log_id": ..., "compartment_id": ...}`` (the compartment may be
left to the run's) or ``"<compartment>/<log group>/<log>"``. ``None`` is ``[oci_dataflow] stream_logs``.
Imported when a DAG file is parsed: no more than the check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError

LogName = Mapping[str, str] | str


def stream_log_names(field: str, value: bool | Sequence[LogName] | None) -> list[LogName] | None:
    """None when streaming is off; otherwise the logs named besides the run's own (often none)."""
    if value is None:
        from airflow_provider_dataflow.config import get_bool

        value = get_bool("stream_logs")
    if isinstance(value, bool):
        return [] if value else None
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence):
        raise DataflowInvalidInputError(field, f"must be True, False or a list of logs, got {type(value).__name__}")
    for item in items:
        if isinstance(item, str):
            parts = item.split("/")
            if len(parts) not in (2, 3) or not all(part.startswith("ocid1.") for part in parts):
                raise DataflowInvalidInputError(
                    field, f"{item!r} is not '<log group OCID>/<log OCID>' or '<compartment>/<log group>/<log>'"
                )
        elif isinstance(item, Mapping):
            missing = [key for key in ("log_group_id", "log_id") if not item.get(key)]
            if missing or set(item) - {"log_group_id", "log_id", "compartment_id"}:
                raise DataflowInvalidInputError(
                    field, f"each log needs log_group_id and log_id (and may name compartment_id); got {dict(item)!r}"
                )
        else:
            raise DataflowInvalidInputError(field, f"a log is a dict or a string, got {type(item).__name__}")
    return [dict(item) if isinstance(item, Mapping) else item for item in items]
