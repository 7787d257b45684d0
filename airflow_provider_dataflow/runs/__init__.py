"""The run's domain: states, the create request, failure kinds, cost, task identity, reattach rules, backoff.

Plain values and rules, no I/O and no Airflow context, so every other package can build on them.
"""
