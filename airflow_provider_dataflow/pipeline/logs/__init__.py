"""A running Spark job's lines from OCI Logging in the task log, on both paths, shared across runs.

- ``records``: which record belongs to which run (the one place to change that), and the line shown;
- ``sources``: which logs hold a run's lines, and the query for a set of runs in one log;
- ``follower``: one run's lines from one log: window, de-duplication, order, caps, cursor (both paths);
- ``search``: one search of one log over a window, as steps (paged, split when too large, bounded);
- ``searcher``, ``registry``: the triggerer's shared search, one per log and process;
- ``deferred``: what a trigger uses (subscribe, drain at the end); ``cursor_store``: its cursor in XCom;
- ``blocking``: what the worker's synchronous wait uses between polls.
"""
