"""The provider's ``[oci_dataflow]`` Airflow options: defaults, documentation and reading, in one place.

Imported by ``provider_info`` while Airflow initialises, so Airflow is imported lazily here.
"""

from __future__ import annotations

import os
from typing import Any

SECTION = "oci_dataflow"

OPTIONS: dict[str, dict[str, Any]] = {
    "max_requests_per_second": {
        "description": (
            "OCI API calls per second that one triggerer process may make per service endpoint, shared by every "
            "trigger and run watcher in it; each kind of call (polls, creates, cancels, searches, log searches) "
            "may also use up to this rate. A 429 halves the rate of the kind of call it answered only (honouring "
            "Retry-After), which then recovers over a minute. Several triggerers each have their own budget."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "10",
        "default": "50",
    },
    "shared_watch_min_runs": {
        "description": (
            "Runs waited for in one compartment at which a triggerer stops reading each run and lists the "
            "compartment's active runs once per interval for all of them."
        ),
        "version_added": "0.2.0",
        "type": "integer",
        "example": "20",
        "default": "5",
    },
    "shared_watch_min_interval": {
        "description": "Shortest interval, in seconds, between two list snapshots of a compartment.",
        "version_added": "0.2.0",
        "type": "float",
        "example": "5",
        "default": "1",
    },
    "max_poll_interval": {
        "description": (
            "Cap, in seconds, on every wait's poll interval (operators, sensors, triggers), whatever the DAG "
            "sets. Empty: no cap. Meant for DAG tests against the emulator, where runs last seconds."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "0.5",
        "default": "",
    },
    "stream_logs": {
        "description": (
            "Default of the operator's and the sensor's stream_logs: show the run's OCI Logging lines in the task log "
            "while it runs (one search per log and interval per triggerer, see docs/log-streaming.md)."
        ),
        "version_added": "0.2.0",
        "type": "boolean",
        "example": "True",
        "default": "False",
    },
    "log_overlap_seconds": {
        "description": (
            "Each log search starts this many seconds before the previous one ended, for lines OCI Logging "
            "ingested late; longer catches later lines and searches more."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "180",
        "default": "60",
    },
    "log_drain_seconds": {
        "description": (
            "After a run ends, its lines are still collected for this many seconds (lines are ingested with a lag) "
            "before the task completes."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "60",
        "default": "30",
    },
    "log_max_lines_per_interval": {
        "description": "Lines shown per run and search interval; beyond, a line says how many were skipped.",
        "version_added": "0.2.0",
        "type": "integer",
        "example": "200",
        "default": "1000",
    },
    "log_max_line_chars": {
        "description": "Characters of a log line shown; the rest is cut, saying how many.",
        "version_added": "0.2.0",
        "type": "integer",
        "example": "1000",
        "default": "4000",
    },
    "log_max_window_seconds": {
        "description": (
            "Longest time window one log search covers: a search that fell further behind (a long outage) skips "
            "the older lines and says so."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "7200",
        "default": "3600",
    },
    "log_cursor_save_seconds": {
        "description": (
            "How often (at most) a deferred task saves how far its lines were shown, so that a trigger restarted or "
            "moved to another triggerer continues there (Airflow 3.1+); lines shown since are shown again."
        ),
        "version_added": "0.2.0",
        "type": "float",
        "example": "10",
        "default": "30",
    },
    "log_search_min_interval": {
        "description": "Shortest interval, in seconds, between two searches of one log by a triggerer.",
        "version_added": "0.2.0",
        "type": "float",
        "example": "10",
        "default": "2",
    },
}


def get_float(option: str) -> float:
    from airflow_provider_dataflow.compat import conf

    return conf.getfloat(SECTION, option, fallback=float(OPTIONS[option]["default"]))


def get_bool(option: str) -> bool:
    from airflow_provider_dataflow.compat import conf

    return conf.getboolean(SECTION, option, fallback=OPTIONS[option]["default"] == "True")


def get_int(option: str) -> int:
    from airflow_provider_dataflow.compat import conf

    return conf.getint(SECTION, option, fallback=int(OPTIONS[option]["default"]))


def max_poll_interval(poll_interval: float) -> float:
    """``poll_interval``, capped by ``[oci_dataflow] max_poll_interval`` when that is set."""
    cap = _poll_interval_cap()
    return min(poll_interval, cap) if cap is not None else poll_interval


_cap_read: tuple[str | None, float | None] | None = None  # (the option's variable when read, the cap)


def _poll_interval_cap() -> float | None:
    """Read once per process, and again when its environment variable changes (tests set it per test):
    reading Airflow's configuration costs ~50 us, and a triggerer starts thousands of waits at once."""
    global _cap_read
    variable = os.environ.get(f"AIRFLOW__{SECTION.upper()}__MAX_POLL_INTERVAL")
    if _cap_read is None or _cap_read[0] != variable:
        from airflow_provider_dataflow.compat import conf

        cap = conf.get(SECTION, "max_poll_interval", fallback="")
        _cap_read = (variable, float(cap) if cap else None)
    return _cap_read[1]


def provider_config() -> dict[str, Any]:
    """The ``config`` entry of the provider info (shown by ``airflow config list``)."""
    return {
        SECTION: {
            "description": "OCI Data Flow provider: triggerer request budget, shared run watching, log streaming.",
            "options": OPTIONS,
        }
    }
