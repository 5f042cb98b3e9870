"""What this process knows of small aggregates it records on every ingest, so a decision needs no read.

The event store stays the judge: a change is saved as the aggregate's next version, and a clash
(another request or process got there first) sends the caller back to reload and decide again.
Cached state can only lag behind the store, never run ahead of it. Entries are (version, state),
bounded in number, least recently used first out.
"""

from collections import OrderedDict


class VersionCache:
    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._known: OrderedDict[tuple, tuple] = OrderedDict()

    def forget(self, key: tuple) -> None:
        self._known.pop(key, None)

    def _remember(self, key: tuple, known: tuple) -> None:
        self._known[key] = known
        self._known.move_to_end(key)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)
