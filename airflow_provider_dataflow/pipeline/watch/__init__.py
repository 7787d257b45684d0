"""Watch many runs with a few list calls per compartment instead of one GET per run per interval.

- ``listing``: a compartment's active runs, and where watched runs ended (list calls by state, paged);
- ``watcher``: the per-process, per-compartment loop that turns snapshots into wake-ups;
- ``registry``: one watcher per (connection settings, compartment) and event loop;
- ``performer``: performs one trigger's steps (``pipeline.steps``), its polls through its compartment's watcher.

Why our own watcher and not Airflow 3.3's shared streams (``BaseEventTrigger.shared_stream_key``): see
``watcher``'s docstring and docs/scale.md.
"""
