"""Blocking calls (eventsourcing, SQLAlchemy) run on the app's bounded thread pool, bound once."""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor


class Blocking:
    """The application's Blocking port: `await blocking(fn, *args)` runs fn on the database threads."""

    def __init__(self, executor: ThreadPoolExecutor):
        self.executor = executor

    async def __call__(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

