"""The emulator produces each failure kind a retry policy must tell apart, through the real SDK."""

from __future__ import annotations

from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError

from .conftest import StateWaiter
from .test_emulator_lifecycle import _states_until_terminal


def test_a_no_capacity_run_fails_from_accepted_without_ever_running(
    client: Client, control: EmulatorControl, create_run: Any
) -> None:
    control.add_behaviour(display_name_regex="^full$", outcome="NO_CAPACITY")
    run = create_run(display_name="full")
    assert _states_until_terminal(client, run.id) == ["ACCEPTED", "FAILED"]
    failed = client.get_run(run.id).data
    assert "out of host capacity" in failed.lifecycle_details
    assert (failed.run_duration_in_milliseconds, failed.data_read_in_bytes) == (0, 0)
    assert client.list_run_logs(run.id).data == []  # no driver ever started


def test_a_no_capacity_run_keeps_given_details_and_can_be_canceled_while_accepted(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.settings(accepted_seconds=2.0)
    control.add_behaviour(outcome="NO_CAPACITY", lifecycle_details="Insufficient capacity for VM.Standard.E4.Flex")
    first = create_run(display_name="waits")
    client.delete_run(first.id)
    assert wait_for_state(first.id).lifecycle_state == "CANCELED"
    control.settings(accepted_seconds=0.1)
    second = create_run(display_name="fails")
    assert wait_for_state(second.id).lifecycle_details == "Insufficient capacity for VM.Standard.E4.Flex"


def test_an_application_failure_runs_first_and_leaves_its_stderr(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.add_behaviour(outcome="FAILED", stderr=["ZeroDivisionError: division by zero"])
    run = wait_for_state(create_run().id)
    assert run.lifecycle_state == "FAILED" and run.run_duration_in_milliseconds > 0
    assert "spark_application_stderr.log.gz" in {log.name for log in client.list_run_logs(run.id).data}


def test_limit_exceeded_on_create_is_a_400_the_sdk_does_not_retry(
    client: Client, control: EmulatorControl, create_run: Any
) -> None:
    control.add_fault(method="POST", path_regex="/runs$", status=400, code="LimitExceeded", times=1)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        create_run()
    assert (raised.value.status, raised.value.code) == (400, "LimitExceeded")
    assert create_run().lifecycle_state == "ACCEPTED"


def test_an_unknown_outcome_names_the_ones_there_are(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError, match="SUCCEEDED, FAILED, NO_CAPACITY"):
        control.add_behaviour(outcome="EXPLODED")
