"""The fault proxy itself: each fault as a client meets it (raw sockets for the bytes, the real oci SDK for its
keep-alive sessions), switched on and off at any time, and nothing left behind when it stops."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import oci
import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator
from airflow_provider_dataflow.testing.fault_proxy import Fault, FaultProxy

from .conftest import COMPARTMENT_ID

pytest_plugins = ["pytester"]

HEALTH = b"GET /_emulator/health HTTP/1.1\r\nHost: emulator\r\n\r\n"


@pytest.fixture
def proxy(emulator: DataflowEmulator) -> Iterator[FaultProxy]:
    with FaultProxy(emulator.url) as running:
        yield running


@pytest.fixture
def sdk(proxy: FaultProxy, credentials: TestCredentials) -> oci.data_flow.DataFlowClient:
    """The real SDK through the proxy: one requests session, so one keep-alive connection; no retries."""
    return oci.data_flow.DataFlowClient(
        credentials.sdk_config(),
        service_endpoint=proxy.url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(2.0, 2.0),
    )


def _list(sdk: oci.data_flow.DataFlowClient) -> int:
    return sdk.list_runs(COMPARTMENT_ID).status


def _connect(proxy: FaultProxy) -> socket.socket:
    host, port = proxy.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=5)
    connection.settimeout(5)
    return connection


def _read_answer(connection: socket.socket) -> bytes:
    """One whole answer of the emulator (it writes each in one piece, small enough for one read here)."""
    return connection.recv(65536)


def test_relays_an_sdk_session_over_one_keep_alive_connection(
    proxy: FaultProxy, sdk: oci.data_flow.DataFlowClient
) -> None:
    assert [_list(sdk) for _ in range(5)] == [200] * 5
    counters = proxy.counters()
    assert counters.accepted == 1 and counters.open_connections == 1
    assert counters.bytes_to_server > 0 and counters.bytes_to_client > 0


def test_refuse_refuses_connects_and_closes_open_connections_until_healed(
    proxy: FaultProxy, sdk: oci.data_flow.DataFlowClient
) -> None:
    assert _list(sdk) == 200  # a keep-alive connection is open
    with proxy.refuse():
        assert proxy.fault is Fault.REFUSE
        with pytest.raises(ConnectionRefusedError):
            _connect(proxy)
        with pytest.raises(oci.exceptions.RequestException, match="Connection refused"):
            _list(sdk)  # the open connection was closed, and a new one is refused
        assert proxy.counters().closed_by_refusal == 1
    assert proxy.fault is Fault.NONE
    assert _list(sdk) == 200  # listening again, on the same port


def test_reset_sends_part_of_the_answer_then_resets_the_connection(proxy: FaultProxy) -> None:
    connection = _connect(proxy)
    with proxy.reset_mid_response(after_bytes=12):
        connection.sendall(HEALTH)
        assert connection.recv(65536) == b"HTTP/1.1 200"
        with pytest.raises(ConnectionResetError):
            connection.recv(65536)
    connection.close()
    assert proxy.counters().resets == 1
    healthy = _connect(proxy)
    healthy.sendall(HEALTH)
    assert _read_answer(healthy).startswith(b"HTTP/1.1 200 OK")
    healthy.close()


def test_reset_by_default_cuts_an_sdk_answer_in_half(proxy: FaultProxy, sdk: oci.data_flow.DataFlowClient) -> None:
    with proxy.reset_mid_response(), pytest.raises(oci.exceptions.RequestException, match="Connection reset by peer"):
        _list(sdk)
    counters = proxy.counters()
    assert counters.resets == 1 and counters.bytes_to_client > 0
    assert _list(sdk) == 200


def test_black_hole_reads_requests_and_never_answers_open_or_new_connections(
    proxy: FaultProxy, sdk: oci.data_flow.DataFlowClient, emulator: DataflowEmulator
) -> None:
    assert _list(sdk) == 200
    forwarded = proxy.counters().bytes_to_server
    api_requests = emulator.control.stats()["apiRequests"]
    with proxy.black_hole():
        new = _connect(proxy)
        new.sendall(HEALTH)
        new.settimeout(0.5)
        with pytest.raises(TimeoutError):
            new.recv(65536)
        with pytest.raises(oci.exceptions.RequestException, match="Read timed out"):
            _list(sdk)  # on the session's open connection
        assert proxy.counters().black_holed == 2
        assert proxy.counters().bytes_to_server == forwarded, "nothing reached the server"
    assert emulator.control.stats()["apiRequests"] == api_requests
    new.settimeout(0.5)
    with pytest.raises(TimeoutError):
        new.recv(65536)  # its request is gone: a connection that lost bytes stays silent
    new.close()
    assert _list(sdk) == 200  # the SDK dropped the timed-out connection; a new one is served


def test_partition_holds_every_byte_for_its_window_then_delivers_them(proxy: FaultProxy) -> None:
    open_before = _connect(proxy)
    open_before.sendall(HEALTH)
    assert _read_answer(open_before).startswith(b"HTTP/1.1 200 OK")
    proxy.partition(1.5)
    assert proxy.fault is Fault.PARTITION
    opened_during = _connect(proxy)  # the handshake completes; nothing else does
    for connection in (open_before, opened_during):
        connection.sendall(HEALTH)
        connection.settimeout(0.5)
        with pytest.raises(TimeoutError):
            connection.recv(65536)
    for connection in (open_before, opened_during):
        connection.settimeout(5)
        assert _read_answer(connection).startswith(b"HTTP/1.1 200 OK")
        connection.close()
    assert proxy.fault is Fault.NONE
    assert proxy.counters().held == 2


def test_heal_ends_a_partition_early_and_another_fault_replaces_it(proxy: FaultProxy) -> None:
    proxy.partition(600)
    proxy.refuse()  # replaces the partition
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.partition(600)  # listens again, holding
    connection = _connect(proxy)
    connection.sendall(HEALTH)
    connection.settimeout(0.3)
    with pytest.raises(TimeoutError):
        connection.recv(65536)
    proxy.heal()
    connection.settimeout(5)
    assert _read_answer(connection).startswith(b"HTTP/1.1 200 OK")
    connection.close()


def test_stop_closes_every_socket_and_ends_its_thread(emulator: DataflowEmulator) -> None:
    gc.collect()  # sockets of earlier tests' clients, closed when collected
    threads_before = set(threading.enumerate())
    fds_before = len(os.listdir("/proc/self/fd"))
    proxy = FaultProxy(emulator.url).start()
    relayed, swallowed, held = _connect(proxy), _connect(proxy), _connect(proxy)
    relayed.sendall(HEALTH)
    assert _read_answer(relayed).startswith(b"HTTP/1.1 200")
    proxy.black_hole()
    swallowed.sendall(HEALTH)
    _wait_for(lambda: proxy.counters().black_holed == 1)
    proxy.partition(600)
    held.sendall(HEALTH)
    _wait_for(lambda: proxy.counters().held == 1)
    url = proxy.url
    proxy.stop()

    for connection in (relayed, swallowed, held):
        connection.settimeout(5)
        with pytest.raises(ConnectionResetError):
            connection.recv(65536)
        connection.close()
    assert proxy.counters().open_connections == 0
    # The emulator's handler threads end once the proxy's connections to it are closed.
    _wait_for(lambda: set(threading.enumerate()) <= threads_before)
    _wait_for(lambda: len(os.listdir("/proc/self/fd")) == fds_before)  # the emulator's side closes on its thread
    host, port = url.removeprefix("http://").split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)


def test_bad_arguments_say_what_to_pass(emulator: DataflowEmulator) -> None:
    with pytest.raises(ValueError, match="upstream_url must name a host and a port"):
        FaultProxy("emulator")
    with FaultProxy(emulator.url) as proxy:
        with pytest.raises(ValueError, match="seconds must be greater than 0"):
            proxy.partition(0)
        with pytest.raises(ValueError, match="after_bytes must be 0 or more"):
            proxy.reset_mid_response(after_bytes=-1)
    with pytest.raises(RuntimeError, match="not running"):
        proxy.black_hole()


def test_the_pytest_plugin_points_the_connection_at_a_proxy_healed_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        from airflow_provider_dataflow.exceptions import DataflowServiceError
        from airflow_provider_dataflow.hooks import operations
        from airflow_provider_dataflow.hooks.dataflow import DataflowHook


        def test_calls_go_through_the_proxy(dataflow_emulator, dataflow_network_faults):
            compartment = DataflowHook().settings.compartment_id
            assert DataflowHook().settings.service_endpoint == dataflow_network_faults.url
            assert DataflowHook().call(operations.list_runs_limited(compartment, 1)) is not None
            dataflow_network_faults.refuse()  # left on: the fixture heals it
            with pytest.raises(DataflowServiceError, match="Connection refused") as failed:
                DataflowHook().call(operations.list_runs_limited(compartment, 1))
            assert failed.value.transient


        def test_the_next_test_starts_healed(dataflow_network_faults):
            assert dataflow_network_faults.fault.value == "none"
            assert dataflow_network_faults.counters().accepted >= 1
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"not reached within {seconds} s")
        time.sleep(0.01)
