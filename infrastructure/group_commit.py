"""Group commit: concurrent requests' units of work share one database transaction.

The event store serialises write transactions with a table lock, so throughput comes from
putting many units in each transaction. Units queue while a commit is in flight and go together
in the next one. A store that names the units that clash refuses just those; for one that can
only refuse the whole batch, the clashes are found by halving it until each stands alone, so one
stale cooldown costs a few extra transactions, not one per unit.
"""

import asyncio
from typing import Awaitable, Callable, Sequence

from eventsourcing.persistence import IntegrityError

from application.records import UnitOfWork

# Commits a batch in one transaction and returns the indices of the units refused for a clash,
# or raises IntegrityError when it cannot tell which (Storage.record's contract, awaited).
Record = Callable[[list[UnitOfWork]], Awaitable[Sequence[int]]]


class GroupCommit:
    def __init__(self, record: Record, max_batch: int, on_batch=None):
        self.record = record
        self.max_batch = max_batch
        self.on_batch = on_batch or (lambda size: None)
        self._waiting: list[tuple[UnitOfWork, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def __call__(self, unit: UnitOfWork) -> None:
        future = asyncio.get_running_loop().create_future()
        self._queue(unit, future)
        await future

    def later(self, unit: UnitOfWork) -> None:
        self._queue(unit, None)

    async def many(self, units: list[UnitOfWork]) -> list[BaseException | None]:
        """Commits units as one caller: a future each, awaited in turn, no task each."""
        loop = asyncio.get_running_loop()
        futures = []
        for unit in units:
            futures.append(loop.create_future())
            self._queue(unit, futures[-1])
        outcomes = []
        for future in futures:
            try:
                await future
                outcomes.append(None)
            except Exception as error:
                outcomes.append(error)
        return outcomes

    async def drain(self) -> None:
        while self._worker is not None and not self._worker.done():
            await asyncio.wait({self._worker})

    def _queue(self, unit: UnitOfWork, future: asyncio.Future | None) -> None:
        self._waiting.append((unit, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._commit_waiting())

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch:]
            self.on_batch(len(batch))
            await self._commit(batch)

    async def _commit(self, batch: list) -> None:
        try:
            refused = await self.record([u for u, _ in batch])
        except IntegrityError as clash:
            if len(batch) == 1:
                _settle(batch[0][1], clash)
            else:
                middle = len(batch) // 2
                await self._commit(batch[:middle])
                await self._commit(batch[middle:])
        except BaseException as error:
            for _, future in batch:
                _settle(future, error)
        else:
            refused = set(refused or ())
            for n, (_, future) in enumerate(batch):
                _settle(future, IntegrityError("version clash") if n in refused else None)


def _settle(future: asyncio.Future | None, error: BaseException | None = None) -> None:
    if future is None or future.done():  # nobody waits for a unit queued with later()
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
