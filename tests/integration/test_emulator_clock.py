"""The emulator's clock set off this machine's, as the real SDK sees it: the signature's date check and the
answers' ``Date`` header follow the service's clock (OCI refuses a request dated more than 5 minutes from
its own clock: https://docs.oracle.com/en-us/iaas/Content/API/Concepts/usingapi.htm); runs keep the machine's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError


@pytest.fixture
def clock(control: EmulatorControl) -> Iterator[EmulatorControl]:
    yield control
    control.settings(clock_offset_seconds=0)


def _service_clock_ahead(headers: object) -> float:
    """Seconds the answer's Date header is ahead of this machine's clock (1 s resolution)."""
    return parsedate_to_datetime(headers["date"]).timestamp() - time.time()  # type: ignore[index]


@pytest.mark.parametrize("offset", [600, -600])
def test_a_service_clock_ten_minutes_off_refuses_the_request_and_dates_its_answer_by_its_own_clock(
    clock: EmulatorControl, client: Client, compartment_id: str, offset: float
) -> None:
    assert clock.settings(clock_offset_seconds=offset)["clockOffsetSeconds"] == offset
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.list_runs(compartment_id)
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    assert "is not within allowed clock skew" in refused.value.message
    assert abs(_service_clock_ahead(refused.value.headers) - offset) < 2


def test_a_service_clock_four_minutes_ahead_is_within_the_allowed_skew(
    clock: EmulatorControl, client: Client, compartment_id: str
) -> None:
    clock.settings(clock_offset_seconds=240)
    response = client.list_runs(compartment_id)
    assert response.status == 200
    assert abs(_service_clock_ahead(response.headers) - 240) < 2


def test_runs_keep_the_machines_clock(
    clock: EmulatorControl, client: Client, compartment_id: str, create_run: object
) -> None:
    clock.settings(clock_offset_seconds=240)
    run = create_run()  # type: ignore[operator]
    assert abs(run.time_created.timestamp() - time.time()) < 2


@pytest.mark.parametrize("value", [True, "600", float("inf")])
def test_a_clock_offset_that_is_not_a_finite_number_is_refused_naming_the_setting(
    clock: EmulatorControl, value: object
) -> None:
    with pytest.raises(EmulatorControlError, match=r"400.*clockOffsetSeconds must be a"):
        clock.settings(clock_offset_seconds=value)  # type: ignore[arg-type]
    assert clock.settings()["clockOffsetSeconds"] == 0
