"""Read timeouts for uvicorn's HTTP/1.1 protocol: a client that dribbles its request is cut off.

uvicorn closes a connection idle between requests (``timeout_keep_alive``), but a client
that sends a byte every few seconds is never idle, and one that never finishes its headers
or body holds its connection (and a file descriptor) forever. :func:`timed_protocol` makes a
protocol class that allows ``header_seconds`` from the first byte of a request (or the
connection's opening) to the end of its headers, then ``body_seconds`` to the end of its
body; past either it answers ``408 Request Timeout`` if it has not answered yet and closes.

It closes by lingering (as nginx's ``lingering_close``): it half-closes its side after the 408
and drops what the client still sends for up to ``LINGER_SECONDS``. Closing outright while the
client's bytes keep arriving makes the kernel answer them with a reset, which can discard the
408 before the client has read it.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

LINGER_SECONDS = 2.0
TIMEOUT_BODY = b"the request came too slowly"
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(TIMEOUT_BODY), TIMEOUT_BODY)
)


class TimedH11Protocol(H11Protocol):
    header_seconds = 10.0
    body_seconds = 60.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.read_timer: asyncio.TimerHandle | None = None
        self.lingering = False  # timed out: what still comes is dropped until the close
        self.reading = "head"  # what the timer waits for: head, body or nothing
        self.arm("head")

    def arm(self, part: str) -> None:
        self.disarm()
        self.reading = part
        seconds = self.header_seconds if part == "head" else self.body_seconds
        self.read_timer = self.loop.call_later(seconds, self.timed_out)

    def disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        self.reading = "nothing"

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        super().data_received(data)
        self.follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.follow()

    def follow(self) -> None:
        """Keep the timer on the part of the request being read now."""
        if self.transport.is_closing():
            self.disarm()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.conn.trailing_data[0] and self.reading != "head":
                self.arm("head")  # bytes of a next request wait; uvicorn's keep-alive is off
        elif state is h11.SEND_BODY:
            if self.reading != "body":
                self.arm("body")
        elif self.reading != "nothing":
            self.disarm()

    def timed_out(self) -> None:
        self.read_timer = None
        if self.transport.is_closing():
            return
        self.logger.info("closing a connection whose request %s came too slowly", self.reading)
        if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
            self.transport.write(TIMEOUT_RESPONSE)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.lingering = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)


def timed_protocol(header_seconds: float, body_seconds: float) -> type[H11Protocol]:
    """An :class:`H11Protocol` with these read timeouts, for ``uvicorn.Config(http=…)``."""
    return type(
        "TimedH11Protocol",
        (TimedH11Protocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds},
    )
