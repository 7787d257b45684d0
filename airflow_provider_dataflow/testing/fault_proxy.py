"""A TCP proxy in front of the emulator (or any HTTP server) whose network faults a test switches on and off.

The emulator's own faults (``EmulatorControl.add_fault``) are HTTP answers and dropped connections of one
request. What happens below HTTP needs a hop in between: nothing listening, a connection reset in the
middle of an answer, a peer that reads and never answers, a partition that holds every byte for a while.
Clients keep their keep-alive connections through the proxy, so a fault reaches the connections the oci
SDK's sessions already hold, not only new ones.

One asyncio loop on a daemon thread relays every connection; the methods that switch a fault return once
it is in force, and ``stop()`` closes every socket and ends the thread. See docs/testing-your-dags.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, fields
from enum import Enum
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

_CHUNK = 65536
_SWITCH_SECONDS = 10.0  # how long a caller waits for the loop to apply a switch
_RESET_LINGER = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN
_PART_SENT_SECONDS = 0.02  # let the part of an answer leave before the reset discards the send queue


class Fault(str, Enum):
    NONE = "none"
    REFUSE = "refuse"  # nothing listens: connecting fails at once; open connections are closed
    RESET = "reset"  # requests are forwarded; each answer is cut after a part, then the connection is reset
    BLACK_HOLE = "black_hole"  # connections are accepted and read; nothing is ever written back
    PARTITION = "partition"  # no byte passes either way until the window ends; then everything flows


@dataclass(frozen=True)
class ProxyCounters:
    """What the proxy did since it started."""

    accepted: int  # connections accepted
    open_connections: int  # client connections open now
    closed_by_refusal: int  # open connections closed when refusing began
    resets: int  # answers cut short and reset
    black_holed: int  # connections whose traffic was swallowed
    held: int  # connections that had traffic held by a partition (once per partition)
    bytes_to_server: int
    bytes_to_client: int


class FaultWindow:
    """Returned by each fault switch: ``with proxy.black_hole(): ...`` heals the network on leaving."""

    def __init__(self, proxy: FaultProxy) -> None:
        self._proxy = proxy

    def __enter__(self) -> FaultProxy:
        return self._proxy

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._proxy.heal()


class _Link:
    """One client connection and, once connected, its connection to the server."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.black_holed = False
        self.held_in = -1  # the last partition that held this connection's traffic

    def close(self, *, reset: bool = False) -> None:
        if reset:
            with contextlib.suppress(OSError):
                self.client.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_LINGER)
            self.client.transport.abort()
        else:
            self.client.close()
        if self.server is not None:
            self.server.close()  # a FIN: the server's side of a keep-alive connection ends quietly


class FaultProxy:
    """Relays ``http://host:port`` (``url``) to ``upstream_url``; switch faults on with ``refuse``,
    ``reset_mid_response``, ``black_hole`` or ``partition``, and off with ``heal``. One fault at a time:
    switching one on replaces the other."""

    def __init__(self, upstream_url: str, host: str = "127.0.0.1", port: int = 0) -> None:
        upstream = urlsplit(upstream_url)
        if not upstream.hostname or not upstream.port:
            raise ValueError(
                f"upstream_url must name a host and a port, e.g. http://127.0.0.1:8080, not {upstream_url!r}"
            )
        self._upstream = (upstream.hostname, upstream.port)
        self._address = (host, port)
        self._fault = Fault.NONE
        self._reset_after: int | None = None
        self._partitions = 0
        self._partition_timer: asyncio.TimerHandle | None = None
        self._counts = {counter.name: 0 for counter in fields(ProxyCounters) if counter.name != "open_connections"}
        self._links: dict[_Link, asyncio.Task[Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._stopping = False

    # -- life ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The address clients use instead of the upstream's (``service_endpoint`` of a connection)."""
        if self._loop is None:
            raise RuntimeError("the fault proxy is not running; call start() first")
        return f"http://{self._address[0]}:{self._address[1]}"

    def start(self) -> FaultProxy:
        if self._loop is not None:
            raise RuntimeError("the fault proxy is already running")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="dataflow-fault-proxy", daemon=True)
        self._loop = loop
        self._thread.start()
        try:
            self._run(self._open())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and end the loop's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._run(self._close_all())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_SWITCH_SECONDS)
        loop.close()
        self._loop, self._thread = None, None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------------------

    @property
    def fault(self) -> Fault:
        """The fault in force now (a partition whose window ended is ``Fault.NONE``)."""
        return self._fault

    def refuse(self) -> FaultWindow:
        """Stop listening (connects are refused at once) and close the connections open now."""
        return self._switch(Fault.REFUSE)

    def reset_mid_response(self, after_bytes: int | None = None) -> FaultWindow:
        """Forward each request; send the first ``after_bytes`` of its answer (default: half of what the
        server's first write held), then reset the connection (RST)."""
        if after_bytes is not None and after_bytes < 0:
            raise ValueError(f"after_bytes must be 0 or more, got {after_bytes}")
        return self._switch(Fault.RESET, reset_after=after_bytes)

    def black_hole(self) -> FaultWindow:
        """Accept and read every connection's bytes, new and open ones, and never answer. A connection that
        lost bytes stays silent after ``heal`` (its request is gone); new connections work again."""
        return self._switch(Fault.BLACK_HOLE)

    def partition(self, seconds: float) -> FaultWindow:
        """Hold every byte of every connection, new and open ones, for ``seconds``; then deliver what was
        held and relay again. New connections are accepted (the kernel completes the handshake) and wait."""
        if not seconds > 0:
            raise ValueError(f"seconds must be greater than 0, got {seconds}")
        return self._switch(Fault.PARTITION, partition_seconds=seconds)

    def heal(self) -> None:
        """End the fault in force: listen again, let held bytes through."""
        self._switch(Fault.NONE)

    def counters(self) -> ProxyCounters:
        return ProxyCounters(open_connections=len(self._links), **self._counts)

    # -- inside the loop ----------------------------------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the fault proxy is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=_SWITCH_SECONDS)

    def _switch(
        self, fault: Fault, *, reset_after: int | None = None, partition_seconds: float | None = None
    ) -> FaultWindow:
        self._run(self._apply(fault, reset_after, partition_seconds))
        return FaultWindow(self)

    async def _apply(self, fault: Fault, reset_after: int | None, partition_seconds: float | None) -> None:
        assert self._flowing is not None
        if self._partition_timer is not None:
            self._partition_timer.cancel()
            self._partition_timer = None
        self._fault, self._reset_after = fault, reset_after
        if fault is Fault.PARTITION:
            self._partitions += 1
            self._flowing.clear()
            loop = asyncio.get_running_loop()
            self._partition_timer = loop.call_later(partition_seconds or 0.0, self._end_partition)
        else:
            self._flowing.set()
        if fault is Fault.REFUSE:
            if self._server is not None:
                self._server.close()
                self._server = None
            for link in list(self._links):
                self._counts["closed_by_refusal"] += 1
                link.close()
        elif self._server is None:
            await self._listen()

    def _end_partition(self) -> None:
        assert self._flowing is not None
        self._partition_timer = None
        self._fault = Fault.NONE
        self._flowing.set()

    async def _open(self) -> None:
        self._stopping = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        """Listen on the proxy's address (the same port again after refusing)."""
        try:
            self._server = await asyncio.start_server(self._serve, *self._address, reuse_address=True)
        except OSError as error:
            raise RuntimeError(
                f"the fault proxy cannot listen on {self._address[0]}:{self._address[1]}: {error}"
            ) from None
        self._address = self._server.sockets[0].getsockname()[:2]

    async def _close_all(self) -> None:
        """Reset every connection and let each relay end by itself (a cancelled one makes asyncio's streams
        log an error on Python 3.11), then give the transports the loop turn in which they close sockets."""
        assert self._flowing is not None
        self._stopping = True
        if self._partition_timer is not None:
            self._partition_timer.cancel()
        self._flowing.set()
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.close(reset=True)
        relays = list(self._links.values())
        if relays:
            await asyncio.wait(relays, timeout=_SWITCH_SECONDS / 2)
        await asyncio.sleep(0)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        link, task = _Link(client_writer), asyncio.current_task()
        assert task is not None
        self._links[link] = task
        self._counts["accepted"] += 1
        try:
            if self._fault is Fault.BLACK_HOLE:
                await self._swallow(link, client_reader)
                return
            await self._flows(link)
            server_reader, link.server = await asyncio.open_connection(*self._upstream)
            relays = (self._to_server(link, client_reader), self._to_client(link, server_reader))
            await asyncio.gather(*relays, return_exceptions=True)
        except OSError:
            pass  # the server is down, or a side went away: the connection ends
        finally:
            link.close()
            self._links.pop(link, None)

    async def _flows(self, link: _Link) -> None:
        """Wait out a partition (counting the connection once per partition it was held in)."""
        assert self._flowing is not None
        if not self._flowing.is_set():
            if link.held_in != self._partitions:
                link.held_in = self._partitions
                self._counts["held"] += 1
            await self._flowing.wait()
        if self._stopping:
            raise ConnectionAbortedError("the fault proxy stopped")

    async def _to_server(self, link: _Link, reader: asyncio.StreamReader) -> None:
        assert link.server is not None
        try:
            while data := await reader.read(_CHUNK):
                await self._flows(link)
                if link.black_holed or self._fault is Fault.BLACK_HOLE:
                    self._mark_black_holed(link)
                    continue
                link.server.write(data)
                await link.server.drain()
                self._counts["bytes_to_server"] += len(data)
        finally:
            link.close()

    async def _to_client(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await self._flows(link)
                if link.black_holed or self._fault is Fault.BLACK_HOLE:
                    self._mark_black_holed(link)
                    continue
                if self._fault is Fault.RESET:
                    await self._reset(link, data)
                    return
                link.client.write(data)
                await link.client.drain()
                self._counts["bytes_to_client"] += len(data)
        finally:
            link.close()

    async def _reset(self, link: _Link, answer: bytes) -> None:
        part = answer[: len(answer) // 2 if self._reset_after is None else self._reset_after]
        link.client.write(part)
        await link.client.drain()
        self._counts["bytes_to_client"] += len(part)
        await asyncio.sleep(_PART_SENT_SECONDS)
        self._counts["resets"] += 1
        link.close(reset=True)

    async def _swallow(self, link: _Link, reader: asyncio.StreamReader) -> None:
        self._mark_black_holed(link)
        while await reader.read(_CHUNK):
            pass

    def _mark_black_holed(self, link: _Link) -> None:
        if not link.black_holed:
            link.black_holed = True
            self._counts["black_holed"] += 1
