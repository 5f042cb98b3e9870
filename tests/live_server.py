"""A real aiohttp server for clients that are not asyncio (schemathesis, requests): its own loop in a thread."""

import asyncio
import threading

from aiohttp import web

from tests.servers import free_port


class LiveServer:
    """Serves `app` on 127.0.0.1 from a background thread until stop()."""

    def __init__(self, app: web.Application, start_timeout: float = 30.0):
        self.app = app
        self.port = free_port()
        self.start_timeout = start_timeout
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, coroutine, timeout: float = 30.0):
        """Runs a coroutine on the server's loop (to reach the app's services) and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self) -> "LiveServer":
        self._thread.start()
        self.call(self._start(), self.start_timeout)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
