"""The emulator's OCI Logging Search API, through the real SDK's LogSearchClient (signed, over HTTP)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import oci
import pytest
from oci.loggingsearch import LogSearchClient
from oci.loggingsearch.models import SearchLogsDetails

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaaemulatorgroup"
LOG = "ocid1.log.oc1.iad.aaaaemulatorapplog"
DIAGNOSTIC_LOG = "ocid1.log.oc1.iad.aaaaemulatordiagnostic"
APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaaemulatorlogapp"


@pytest.fixture
def search_client(emulator: DataflowEmulator, credentials: TestCredentials) -> LogSearchClient:
    return LogSearchClient(
        credentials.sdk_config(),
        service_endpoint=emulator.url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(5, 10),
    )


def _search(client: LogSearchClient, query: str, start: float, end: float, **kwargs: Any) -> Any:
    details = SearchLogsDetails(
        time_start=datetime.fromtimestamp(start, timezone.utc),
        time_end=datetime.fromtimestamp(end, timezone.utc),
        search_query=query,
    )
    return client.search_logs(details, **kwargs)


def _contents(response: Any) -> list[dict[str, Any]]:
    return [result.data["logContent"] for result in response.data.results]


def _logging_run(create_run: Any, wait_for_state: Any, name: str = "logging-run", **overrides: Any) -> Any:
    run = create_run(
        display_name=name,
        application_log_config=oci.data_flow.models.ApplicationLogConfig(log_group_id=LOG_GROUP, log_id=LOG),
        **overrides,
    )
    wait_for_state(run.id)
    time.sleep(0.15)  # the last lines' ingestion lag
    return run


@pytest.fixture
def chatty(control: EmulatorControl) -> None:
    """Runs write 20 lines a second (about 10 over the fixture's 0.5 s), searchable 0.1 s later."""
    control.add_behaviour(
        "logging-run", log_lines_per_second=20, log_ingestion_lag_seconds=0.1, log_levels=["INFO", "WARN"]
    )


def test_a_run_writes_its_application_log_while_in_progress_with_the_documented_record_shape(
    search_client: LogSearchClient, create_run: Any, wait_for_state: Any, compartment_id: str, chatty: None
) -> None:
    started = time.time()
    run = _logging_run(create_run, wait_for_state)
    response = _search(search_client, f'search "{compartment_id}/{LOG_GROUP}/{LOG}"', started - 1, time.time())
    contents = _contents(response)
    assert 8 <= len(contents) <= 12  # 20 lines/s over the 0.5 s the run is IN_PROGRESS
    first = contents[0]
    assert first["type"] == "com.oraclecloud.dataflow.run.driver"
    assert first["data"] == {"level": "INFO", "message": "driver line 1", "opcRequestId": run.opc_request_id}
    assert first["oracle"]["logid"] == LOG and first["oracle"]["loggroupid"] == LOG_GROUP
    assert first["oracle"]["compartmentid"] == compartment_id
    assert [c["data"]["level"] for c in contents[:3]] == ["INFO", "WARN", "INFO"]
    assert len({c["id"] for c in contents}) == len(contents)
    times = [result.data["datetime"] for result in response.data.results]
    assert times == sorted(times)
    lag = datetime.fromisoformat(first["oracle"]["ingestedtime"][:-1]) - datetime.fromisoformat(first["time"][:-1])
    assert lag == timedelta(milliseconds=100)
    assert response.data.summary.result_count == len(contents)


def test_lines_become_searchable_over_the_runs_life_and_each_search_returns_the_same_ids(
    search_client: LogSearchClient, control: EmulatorControl, create_run: Any, wait_for_state: Any, compartment_id: str
) -> None:
    control.add_behaviour("logging-run", run_seconds=1.5, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    started = time.time()
    run = create_run(
        display_name="logging-run",
        application_log_config=oci.data_flow.models.ApplicationLogConfig(log_group_id=LOG_GROUP, log_id=LOG),
    )
    wait_for_state(run.id, ("IN_PROGRESS",))
    query = f'search "{compartment_id}/{LOG_GROUP}/{LOG}"'
    time.sleep(0.6)
    early = _contents(_search(search_client, query, started, time.time() + 60))
    wait_for_state(run.id)
    time.sleep(0.4)
    late = _contents(_search(search_client, query, started, time.time() + 60))
    assert 0 < len(early) < len(late)
    assert [c["id"] for c in late[: len(early)]] == [c["id"] for c in early]


def test_where_selects_a_runs_records_in_a_shared_log_and_sort_orders_them(
    search_client: LogSearchClient, create_run: Any, wait_for_state: Any, compartment_id: str, chatty: None
) -> None:
    started = time.time()
    first = _logging_run(create_run, wait_for_state, "logging-run-a")
    second = _logging_run(create_run, wait_for_state, "logging-run-b")
    stream = f'search "{compartment_id}/{LOG_GROUP}/{LOG}"'
    everything = _contents(_search(search_client, stream, started - 1, time.time()))
    assert {c["data"]["opcRequestId"] for c in everything} == {first.opc_request_id, second.opc_request_id}
    query = f"{stream} | where data.opcRequestId = '{second.opc_request_id}' | sort by datetime desc"
    response = _search(search_client, query, started - 1, time.time())
    selected = _contents(response)
    assert {c["data"]["opcRequestId"] for c in selected} == {second.opc_request_id}
    assert [r.data["datetime"] for r in response.data.results] == sorted(
        (r.data["datetime"] for r in response.data.results), reverse=True
    )
    wildcard = f"{stream} | WHERE source = '*{first.id[-12:]}' AND data.level != 'WARN'"
    assert {c["data"]["level"] for c in _contents(_search(search_client, wildcard, started - 1, time.time()))} == {
        "INFO"
    }


def test_pages_follow_opc_next_page_without_gaps_or_repeats_and_limit_is_checked(
    search_client: LogSearchClient, create_run: Any, wait_for_state: Any, compartment_id: str, chatty: None
) -> None:
    started = time.time()
    _logging_run(create_run, wait_for_state)
    query, end = f'search "{compartment_id}/{LOG_GROUP}/{LOG}"', time.time()
    whole = [c["id"] for c in _contents(_search(search_client, query, started - 1, end))]
    paged: list[str] = []
    page = None
    while True:
        response = _search(search_client, query, started - 1, end, limit=3, page=page)
        assert len(response.data.results) <= 3
        paged += [c["id"] for c in _contents(response)]
        page = response.next_page
        if not page:
            break
    assert paged == whole
    for limit in (0, 1001):
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            _search(search_client, query, started - 1, end, limit=limit)
        assert raised.value.status == 400 and "limit" in raised.value.message


@pytest.mark.parametrize(
    ("query", "start_offset", "message"),
    [
        ('search "{c}/{g}/{l}"', -15 * 24 * 3600, "may not exceed 14 days"),
        ('search "{c}/{g}/{l}"', 10, "timeEnd must be later than timeStart"),
        ("", -60, "searchQuery is required"),
        ('search "{c}/{g}/{l}" | stats count', -60, "only | where and | sort by datetime"),
        ('search "{c}/{g}/{l}" | where data.level > 3', -60, "only = and != compare fields"),
    ],
)
def test_bad_searches_are_400s_that_say_what_is_wrong(
    search_client: LogSearchClient, compartment_id: str, query: str, start_offset: float, message: str
) -> None:
    now = time.time()
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _search(search_client, query.format(c=compartment_id, g=LOG_GROUP, l=LOG), now + start_offset, now)
    code = "MissingParameter" if "required" in message else "InvalidParameter"
    assert (raised.value.status, raised.value.code) == (400, code)
    assert message in raised.value.message


def test_a_window_with_too_many_records_is_refused_as_too_large(
    search_client: LogSearchClient, control: EmulatorControl, create_run: Any, wait_for_state: Any,
    compartment_id: str, chatty: None,
) -> None:  # fmt: skip
    started = time.time()
    _logging_run(create_run, wait_for_state)
    control.set_log_search_max_results(5)
    query = f'search "{compartment_id}/{LOG_GROUP}/{LOG}"'
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _search(search_client, query, started - 1, time.time())
    assert raised.value.status == 400 and "search result is too large" in raised.value.message
    middle = started + 0.2 + 0.25  # accepted 0.2 s, then 20 lines a second: about 5 in each half
    halves = [_contents(_search(search_client, query, a, b)) for a, b in ((started - 1, middle), (middle, time.time()))]
    assert sum(len(half) for half in halves) >= 8


def test_the_diagnostic_log_streams_driver_and_executors_of_runs_submitted_after_it_was_enabled(
    search_client: LogSearchClient, control: EmulatorControl, create_run: Any, wait_for_state: Any,
    compartment_id: str, chatty: None,
) -> None:  # fmt: skip
    control.register_application(
        APPLICATION,
        compartment_id,
        display_name="logging-run",
        application_log_config={"logGroupId": LOG_GROUP, "logId": LOG},
    )
    started = time.time()
    before = create_run(application_id=APPLICATION)
    control.enable_diagnostic_log(APPLICATION, LOG_GROUP, DIAGNOSTIC_LOG, compartment_id)
    after = create_run(application_id=APPLICATION)
    for run in (before, after):
        wait_for_state(run.id)
    time.sleep(0.15)
    diagnostic = _contents(_search(search_client, f'search "{compartment_id}/{LOG_GROUP}/{DIAGNOSTIC_LOG}"',
                                   started - 1, time.time()))  # fmt: skip
    assert {c["data"]["opcRequestId"] for c in diagnostic} == {after.opc_request_id}
    assert [(c["type"].rsplit(".", 1)[1], c["subject"]) for c in diagnostic[:3]] == [
        ("driver", "driver"),
        ("executor", "executor-1"),
        ("executor", "executor-2"),
    ]
    inherited = _contents(_search(search_client, f'search "{compartment_id}/{LOG_GROUP}"', started - 1, time.time()))
    assert {c["data"]["opcRequestId"] for c in inherited if c["oracle"]["logid"] == LOG} == {
        before.opc_request_id,
        after.opc_request_id,
    }


def test_a_log_registered_in_another_compartment_is_searched_there(
    search_client: LogSearchClient, control: EmulatorControl, create_run: Any, wait_for_state: Any,
    compartment_id: str, chatty: None,
) -> None:  # fmt: skip
    elsewhere = "ocid1.compartment.oc1..aaaaaaaalogsinacompartmentoftheirown"
    control.register_log(LOG, elsewhere)
    started = time.time()
    _logging_run(create_run, wait_for_state)
    assert not _contents(_search(search_client, f'search "{compartment_id}"', started - 1, time.time()))
    assert _contents(_search(search_client, f'search "{elsewhere}/{LOG_GROUP}/{LOG}"', started - 1, time.time()))


def test_faults_hit_the_search_path_and_the_journal_records_searches(
    search_client: LogSearchClient, control: EmulatorControl, compartment_id: str
) -> None:
    control.add_fault(method="POST", path_regex=r"^/20190909/search$", status=429, retry_after_seconds=2)
    now = time.time()
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _search(search_client, f'search "{compartment_id}"', now - 60, now)
    assert (raised.value.status, raised.value.headers["Retry-After"]) == (429, "2")
    assert _search(search_client, f'search "{compartment_id}"', now - 60, now).data.results == []
    searches = [e for e in control.journal() if e["path"] == "/20190909/search"]
    assert [(e["status"], e["fault"]) for e in searches] == [(429, "respond"), (200, None)]
    assert searches[1]["body"]["searchQuery"] == f'search "{compartment_id}"'


def test_a_search_signed_with_an_unknown_key_is_refused(emulator: DataflowEmulator, compartment_id: str) -> None:
    stranger = LogSearchClient(
        generate_test_credentials().sdk_config(),
        service_endpoint=emulator.url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )
    now = time.time()
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _search(stranger, f'search "{compartment_id}"', now - 60, now)
    assert raised.value.status == 401
