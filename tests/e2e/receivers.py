"""A webhook receiver on 127.0.0.1 whose answers a test decides, recording every request."""

import asyncio
import time

from aiohttp import web


class Receiver:
    """Records every request; `answers` gives the status of each attempt in turn (then `then`)."""

    def __init__(self, answers=(), delay_s: float = 0.0, then: int = 200):
        self.answers = list(answers)
        self.then = then
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"method": request.method, "headers": dict(request.headers), "body": body,
                              "at": time.monotonic()})
        if self.delay_s:
            try:
                await asyncio.wait_for(self.release.wait(), self.delay_s)
            except asyncio.TimeoutError:
                pass
        status = self.answers.pop(0) if self.answers else self.then
        self.requests[-1]["status"] = status
        return web.Response(status=status, text=f"answered {status}")

    @property
    def delivered(self) -> list[str]:
        """The webhook ids of the requests answered with a 2xx."""
        return [r["headers"].get("webhook-id") for r in self.requests if 200 <= r.get("status", 0) < 300]

    @property
    def ids(self) -> list[str]:
        return [r["headers"].get("webhook-id") for r in self.requests]
