"""JetStream.publish against a real nats-server: acknowledgements matched, refusals raised, nothing left behind."""

import asyncio
import uuid

import nats
import pytest
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.errors import APIError, NoStreamResponseError

from infrastructure.stream import JetStream, StreamSettings


@pytest.fixture
async def jetstream(nats_url):
    stream = JetStream([nats_url], StreamSettings(duplicate_window_s=120))
    stream.start()
    assert await stream.wait_ready(10)
    yield stream
    await stream.close()


@pytest.fixture
async def full_stream(nats_url):
    """A stream of its own that holds one message and refuses the next."""
    name, subject = f"FULL_{uuid.uuid4().hex[:8]}", f"publishtest.{uuid.uuid4().hex[:8]}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=name, subjects=[subject], max_msgs=1, discard=DiscardPolicy.NEW))
    yield subject
    await js.delete_stream(name)
    await nc.close()


async def test_concurrent_publishes_each_get_their_own_sequence(jetstream):
    subject = f"tripcord.events.publishtest{uuid.uuid4().hex[:8]}.purchase"
    ids = [f"evt_{uuid.uuid4().hex}" for _ in range(50)]
    sequences = await asyncio.gather(*(jetstream.publish(subject, i, b'{"n": 1}') for i in ids))
    assert len(set(sequences)) == 50 and all(isinstance(s, int) and s > 0 for s in sequences)
    again = await jetstream.publish(subject, ids[7], b'{"n": 1}')  # the same id: JetStream keeps the first
    assert again == sequences[7]
    assert jetstream._acks == {}


async def test_a_subject_no_stream_takes_is_refused(jetstream):
    with pytest.raises(NoStreamResponseError):
        await asyncio.wait_for(jetstream.publish(f"nostream.{uuid.uuid4().hex}", "m1", b"{}"), 5)
    assert jetstream._acks == {}


async def test_a_message_the_stream_refuses_raises_its_error(jetstream, full_stream):
    assert await jetstream.publish(full_stream, "first", b"{}") == 1
    with pytest.raises(APIError, match="maximum messages"):
        await asyncio.wait_for(jetstream.publish(full_stream, "second", b"{}"), 5)


async def test_a_caller_that_stops_waiting_leaves_nothing_behind(jetstream):
    subject = f"tripcord.events.publishtest{uuid.uuid4().hex[:8]}.purchase"
    publishing = [asyncio.create_task(jetstream.publish(subject, f"evt_{n}_{uuid.uuid4().hex}", b"{}"))
                  for n in range(20)]
    await asyncio.sleep(0)
    for task in publishing:
        task.cancel()
    await asyncio.gather(*publishing, return_exceptions=True)
    assert jetstream._acks == {}
    assert await jetstream.publish(subject, f"evt_{uuid.uuid4().hex}", b"{}") > 0  # late acks are ignored


async def test_publishing_together_answers_each_message_with_its_sequence_or_why_not(jetstream, full_stream):
    subject = f"tripcord.events.publishtest{uuid.uuid4().hex[:8]}.purchase"
    messages = [(subject, f"evt_{uuid.uuid4().hex}", b"{}"), (f"nostream.{uuid.uuid4().hex}", "m1", b"{}"),
                (full_stream, "first", b"{}"), (full_stream, "second", b"{}")]

    outcomes = await jetstream.publish_many(messages, timeout=5)

    assert isinstance(outcomes[0], int) and outcomes[0] > 0 and outcomes[2] == 1
    assert isinstance(outcomes[1], NoStreamResponseError)
    assert isinstance(outcomes[3], APIError) and "maximum messages" in str(outcomes[3])
    assert jetstream._acks == {}


async def test_publishing_together_with_the_stream_away_answers_why_for_every_message(nats_url):
    stream = JetStream([nats_url], StreamSettings(duplicate_window_s=120))  # never started: not connected

    outcomes = await stream.publish_many([("a", "m1", b"{}"), ("b", "m2", b"{}")], timeout=1)

    assert [str(o) for o in outcomes] == ["the stream is not connected"] * 2
