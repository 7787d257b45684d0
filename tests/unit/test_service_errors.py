"""One classification of what the oci SDK raised: the exception class a task raises, with advice."""

from __future__ import annotations

import re
import time
from email.utils import formatdate

import oci
import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowClockSkewError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowServiceError,
)
from airflow_provider_dataflow.hooks.service_errors import classify_failure


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> oci.exceptions.ServiceError:
    return oci.exceptions.ServiceError(status, code, headers or {}, "refused", request_id="req-1")


def test_a_401_answered_by_a_clock_more_than_five_minutes_off_names_the_clock() -> None:
    skewed = formatdate(time.time() - 420, usegmt=True)  # the service is 7 minutes behind this machine
    error = classify_failure(_error(401, "NotAuthenticated", {"date": skewed}), doing="get run r")
    assert isinstance(error, DataflowClockSkewError) and not error.transient
    skew = re.search(r"clock is \+(\d+) s off OCI's", str(error))
    assert skew is not None and 418 <= int(skew.group(1)) <= 422, str(error)


def test_a_401_from_a_service_whose_clock_agrees_is_about_the_credentials() -> None:
    error = classify_failure(_error(401, "NotAuthenticated", {"date": formatdate(usegmt=True)}), doing="get run r")
    assert type(error) is DataflowRequestRejectedError
    assert "API key" in str(error) and "clock" not in str(error)


@pytest.mark.parametrize(
    ("status", "code", "expected", "transient"),
    [
        (400, "LimitExceeded", DataflowLimitExceededError, False),
        (400, "InvalidParameter", DataflowRequestRejectedError, False),
        (400, "RelatedResourceNotAuthorizedOrNotFound", DataflowRequestRejectedError, False),
        (404, "NotAuthorizedOrNotFound", DataflowRequestRejectedError, False),
        (409, "IncorrectState", DataflowServiceError, True),
        (409, "Conflict", DataflowServiceError, False),
        (429, "TooManyRequests", DataflowServiceError, True),
        (503, "ServiceUnavailable", DataflowServiceError, True),
        (501, "NotImplemented", DataflowServiceError, False),
    ],
)
def test_each_answer_gets_its_class_once(status: int, code: str, expected: type, transient: bool) -> None:
    error = classify_failure(_error(status, code), doing="create a Data Flow run")
    assert type(error) is expected and error.transient is transient
    assert error.status == status and error.code == code


def test_a_missing_related_resource_gets_the_iam_hint() -> None:
    error = classify_failure(_error(400, "RelatedResourceNotAuthorizedOrNotFound"), doing="create a Data Flow run")
    assert "IAM policy" in str(error)
