"""Delivering an outbox message: to JetStream (events, NATS actions) or as a signed webhook."""

import orjson

from application.ports import OutboxMessage, Stream, Webhooks


class StreamUnavailable(Exception):
    pass


class Deliveries:
    def __init__(self, stream: Stream | None, webhooks: Webhooks):
        self.stream = stream
        self.webhooks = webhooks

    async def send(self, message: OutboxMessage, timeout: float) -> int | None:
        """Deliver once; returns the stream sequence for stream messages. Raises on failure.
        `timeout` bounds a webhook's own connection; the caller bounds the whole attempt."""
        if message.kind == "webhook":
            await self.webhooks.deliver(message, timeout)
            return None
        if self.stream is None:
            raise StreamUnavailable("the stream is disabled (TRIPCORD_NATS_URL=none)")
        return await self.stream.publish(message.subject, message.id, orjson.dumps(message.body))


def backoff_ms(attempts: int, base_ms: int, max_ms: int) -> int:
    return min(max_ms, base_ms * 2 ** max(0, attempts - 1))
