"""Watch many runs with a few list calls per compartment instead of one GET per run per interval.

- ``active_runs``: one snapshot of a compartment's active runs (list calls by lifecycle state, paged);
- ``watcher``: the per-process, per-compartment loop that turns snapshots into wake-ups;
- ``registry``: one watcher per (connection settings, compartment) and event loop, and its settings;
- ``observer``: performs one trigger's wait steps (``run_wait``) through its compartment's watcher.

Why our own watcher and not Airflow 3.3's shared streams (``BaseEventTrigger.shared_stream_key``): see
``watcher``'s docstring and docs/scale.md.
"""
