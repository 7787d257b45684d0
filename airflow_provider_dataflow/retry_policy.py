"""DataflowRetryPolicy: retry what time can fix, fail at once what it cannot (Airflow 3.3 retry policies).

A Spark job that failed on its own code or data fails the same way three retries later, after three
more runs' worth of OCPU-hours; a full cluster or a used-up limit is often free again minutes later.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow_provider_dataflow.compat import RetryDecision, RetryPolicy
from airflow_provider_dataflow.exceptions import (
    DataflowApplicationError,
    DataflowCapacityError,
    DataflowInvalidInputError,
    DataflowRequestRejectedError,
    DataflowServiceError,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

# Failures a retry repeats: the application's own, bad arguments, a rejected or unauthorised request.
FAIL_AT_ONCE = (DataflowApplicationError, DataflowInvalidInputError, DataflowRequestRejectedError)


class DataflowRetryPolicy(RetryPolicy):
    """Decide a Data Flow task's retry by the kind of failure; use it as ``retry_policy=`` or in ``default_args``.

    - Fail at once: the application failed (driver exited non-zero), bad input (400 InvalidParameter,
      or an argument the operator rejected), not authorised (401, 404 NotAuthorizedOrNotFound).
    - Retry after ``retry_delay``: capacity and limits (400 LimitExceeded/QuotaExceeded, a run that
      FAILED for lack of capacity), and transient service errors that outlasted the SDK's retries.
    - Anything else: Airflow's usual rule (``retries``, ``retry_delay``, ``retry_exponential_backoff``).

    A retry still counts against the task's ``retries``; the policy never adds attempts.

    :param retry_delay: Delay before such a retry; None uses the task's own ``retry_delay``.
    """

    def __init__(self, retry_delay: timedelta | None = None) -> None:
        if retry_delay is not None and (not isinstance(retry_delay, timedelta) or retry_delay < timedelta(0)):
            raise DataflowInvalidInputError(
                "retry_delay", f"must be a datetime.timedelta >= 0 (or None), got {retry_delay!r}"
            )
        self.retry_delay = retry_delay

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Context | None = None,
    ) -> RetryDecision:
        kind = type(exception).__name__
        if isinstance(exception, DataflowCapacityError):
            return RetryDecision.retry(self.retry_delay, f"{kind}: capacity or a limit ran out; retrying later")
        if isinstance(exception, FAIL_AT_ONCE):
            return RetryDecision.fail(f"{kind}: a retry would fail the same way; not retrying")
        if isinstance(exception, DataflowServiceError) and exception.transient:
            return RetryDecision.retry(self.retry_delay, f"{kind}: the service kept failing; retrying later")
        return RetryDecision.default()
