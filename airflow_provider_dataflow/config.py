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
}


def get_float(option: str) -> float:
    from airflow_provider_dataflow.compat import conf

    return conf.getfloat(SECTION, option, fallback=float(OPTIONS[option]["default"]))


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
            "description": "OCI Data Flow provider: triggerer request budget and shared run watching.",
            "options": OPTIONS,
        }
    }
