"""Blocking calls (eventsourcing, SQLAlchemy) run on the app's bounded thread pool."""

import asyncio
import functools

from aiohttp import web

from interfaces.keys import EXECUTOR


async def blocking(app: web.Application, fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[EXECUTOR], functools.partial(fn, *args, **kwargs))
