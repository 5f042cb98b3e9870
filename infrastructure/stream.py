"""JetStream: the event and action streams, created idempotently, published with message ids."""

import asyncio
import logging

import nats
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import APIError

from application.delivery import StreamUnavailable

log = logging.getLogger("tripcord.stream")

EVENTS_STREAM = "TRIPCORD_EVENTS"
ACTIONS_STREAM = "TRIPCORD_ACTIONS"
HEADERS = {"Content-Type": "application/json"}


def stream_configs(duplicate_window_s: int) -> list[StreamConfig]:
    return [
        StreamConfig(name=name, subjects=[subjects], storage=StorageType.FILE,
                     duplicate_window=float(duplicate_window_s))
        for name, subjects in ((EVENTS_STREAM, "tripcord.events.>"), (ACTIONS_STREAM, "tripcord.actions.>"))
    ]


async def ensure_streams(js, duplicate_window_s: int) -> None:
    for config in stream_configs(duplicate_window_s):
        try:
            await js.add_stream(config)
        except APIError:  # exists with another config (say, an older duplicate window)
            await js.update_stream(config)


class JetStream:
    """A connection kept alive in the background; publishing never waits for a reconnect."""

    def __init__(self, url: str, duplicate_window_s: int):
        self.url = url
        self.duplicate_window_s = duplicate_window_s
        self.nc = None
        self.js = None
        self._ready = asyncio.Event()
        self._connector: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._connector = asyncio.create_task(self._connect_until_up())

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _connect_until_up(self) -> None:
        while True:
            try:
                self.nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=-1,
                                             reconnect_time_wait=0.5, allow_reconnect=True,
                                             error_cb=_log_error, name="tripcord")
                self.js = self.nc.jetstream()
                await ensure_streams(self.js, self.duplicate_window_s)
                self._ready.set()
                return
            except Exception as error:
                log.warning("stream not reachable yet", extra={"error": str(error)})
                if self.nc is not None:
                    await self.nc.close()
                    self.nc = None
                await asyncio.sleep(1.0)

    async def publish(self, subject: str, message_id: str, body: bytes) -> int:
        if not self.connected:
            raise StreamUnavailable("the stream is not connected")
        # Pipelined: many publishes share the connection's writes; each ack is awaited on its own.
        ack = await self.js.publish_async(subject, body, headers={**HEADERS, "Nats-Msg-Id": message_id})
        return (await ack).seq

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


async def _log_error(error: Exception) -> None:
    log.debug("nats: %s", error)
