"""`tripcord replay stream` reads the ids the stream holds up to its last sequence, however long a pause."""

import asyncio
from types import SimpleNamespace

from interfaces.stream_tools import ids_in_stream


class SlowStream:
    """A JetStream whose messages 1-5 arrive with a pause, longer than the reader's wait, after the second."""

    def __init__(self, pause_s: float):
        self.pause_s = pause_s
        self.sequence = 0

    async def stream_info(self, name):
        return SimpleNamespace(state=SimpleNamespace(messages=5, first_seq=1, last_seq=5))

    async def subscribe(self, subject, ordered_consumer, config):
        return self

    async def next_msg(self, timeout):
        if self.sequence == 2 and self.pause_s:
            pause, self.pause_s = self.pause_s, 0
            await asyncio.sleep(min(pause, timeout))
            if pause > timeout:
                raise TimeoutError
        self.sequence += 1
        return SimpleNamespace(headers={"Nats-Msg-Id": f"evt_{self.sequence}"},
                               metadata=SimpleNamespace(sequence=SimpleNamespace(stream=self.sequence)))

    async def unsubscribe(self):
        pass


async def test_a_pause_longer_than_the_wait_is_not_taken_for_the_end_of_the_stream():
    found = await ids_in_stream(SlowStream(pause_s=0.3), wait_s=0.1)

    assert found == {f"evt_{n}": n for n in range(1, 6)}
