"""The tenancy's OCPU limit through the real SDK.

Sources: Oracle's "Supported Spark Properties" (dfs_provide_jvm_options.htm): without
spark.dataflow.acquireQuotaTimeout a run is accepted only if its resources are available; with it the
run waits in an internal queue. "API Errors" (apierrors.htm): 400 LimitExceeded.
"""

from __future__ import annotations

from collections.abc import Callable

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.exceptions import DataflowLimitExceededError
from airflow_provider_dataflow.hooks.service_errors import classify_failure
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import StateWaiter

RunMaker = Callable[..., models.Run]
QUEUED = "--conf spark.dataflow.acquireQuotaTimeout=30m oci://bucket@namespace/jobs/etl.py"


def test_a_create_beyond_the_limit_is_400_limit_exceeded(control: EmulatorControl, create_run: RunMaker) -> None:
    control.set_ocpu_limit(4)
    create_run(num_executors=1)  # 2 OCPUs: a driver and an executor of one OCPU
    create_run(num_executors=1)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        create_run(num_executors=1)
    error = raised.value
    assert (error.status, error.code) == (400, "LimitExceeded")
    assert "needs 2 OCPUs; the tenancy's runs hold 4 of its 4" in error.message
    assert isinstance(classify_failure(error, doing="create a run"), DataflowLimitExceededError)


def test_ended_runs_give_their_ocpus_back(
    control: EmulatorControl, create_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.set_ocpu_limit(2)
    wait_for_state(create_run().id)
    assert create_run().lifecycle_state == "ACCEPTED"


def test_with_acquire_quota_timeout_the_run_waits_for_ocpus_instead(
    client: Client, control: EmulatorControl, create_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.set_ocpu_limit(2)
    first = create_run()
    queued = create_run(execute=QUEUED)
    assert queued.lifecycle_details == (
        "Waiting for OCPUs under the tenancy's limit (spark.dataflow.acquireQuotaTimeout 30m)."
    )
    wait_for_state(first.id)
    assert wait_for_state(queued.id).lifecycle_state == "SUCCEEDED"


def test_a_run_waiting_for_ocpus_fails_when_its_timeout_runs_out(
    control: EmulatorControl, create_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(minute_seconds=0.1, run_seconds=30)
    control.set_ocpu_limit(2)
    create_run()
    failed = wait_for_state(create_run(execute=QUEUED.replace("30m", "2m")).id)
    assert failed.lifecycle_state == "FAILED"
    assert failed.lifecycle_details.startswith("Run failed to start: not enough capacity under the tenancy's OCPU")


def test_runs_in_pools_do_not_count_against_the_tenancy_limit(
    control: EmulatorControl, create_run: RunMaker, compartment_id: str
) -> None:
    control.register_pool("ocid1.dataflowpool.oc1..pool", compartment_id)
    control.set_ocpu_limit(2)
    create_run()
    assert create_run(pool_id="ocid1.dataflowpool.oc1..pool").lifecycle_state == "ACCEPTED"


def test_raising_the_limit_lets_waiting_runs_start(
    control: EmulatorControl, create_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(run_seconds=30)
    control.set_ocpu_limit(2)
    create_run()
    queued = create_run(execute=QUEUED)
    assert control.set_ocpu_limit(None) == {"ocpus": None}
    assert wait_for_state(queued.id, states=("IN_PROGRESS",)).lifecycle_details is None
