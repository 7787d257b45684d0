"""A run's life, defined once for both paths: the worker and the triggerer only drive it.

- ``steps``: what the rules ask of the outside world, and the two drivers (blocking, awaited);
- ``submit``: the run plan: prepare the create body, continue with an earlier attempt's run or create one,
  the target states and the deadline;
- ``wait``: poll until the wait is over, back off, cancel and confirm at the deadline; a pool's queue;
- ``kill``: the one kill decision (the task's state, then a shielded cancel);
- ``outcome``: the typed end of a wait (the exception the task raises travels in it) and its event;
- ``finish``: what the task makes of an outcome: the run and its cost, or the exception, on both paths;
- ``watch``: the shared per-compartment watcher behind the triggerer's polls.
"""
