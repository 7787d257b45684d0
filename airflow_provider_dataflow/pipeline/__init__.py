"""A run's life, defined once for both paths: the worker and the triggerer only drive it.

- ``steps``: what the rules ask of the outside world, and the two drivers (blocking, awaited);
- ``submit``: prepare the create body, continue with an earlier attempt's run or create one, the deadline;
- ``wait``: poll until the wait is over, back off, cancel and confirm at the deadline;
- ``kill``: the one kill decision (the task's state, then a shielded cancel);
- ``outcome``: the typed end of a wait, and the return value or exception the task makes of it;
- ``watch``: the shared per-compartment watcher behind the triggerer's polls.
"""
