"""What a fire sends, built the same way at ingest and at every later attempt, and one attempt at sending it."""

import asyncio
import time
from dataclasses import dataclass

import orjson

from application.ports import CompiledConfig, Delivery, RenderFailed, Stream, WebhookRefused, Webhooks
from application.subjects import action_subject
from domain.actions import is_web_url, public_config
from domain.dispatch import Attempt


class StreamUnavailable(Exception):
    pass


class Undeliverable(Exception):
    """The dispatch can never be sent as configured: a template that cannot render, a URL that is not one."""


@dataclass(frozen=True)
class TriggerSpec:
    """What a delivery needs of a trigger at one version; its templates compiled once."""

    tenant_id: str
    trigger_id: str
    name: str
    version: int
    action_type: str
    action_config: dict  # as stored: the secret and header values included
    templates: CompiledConfig


def build_delivery(spec: TriggerSpec, message: dict, dispatch_id: str) -> Delivery:
    """The rendered delivery of `spec` fired by the event whose stream body is `message`."""
    context = {"event": {key: message[key] for key in ("id", "type", "customerId", "channel", "timestamp",
                                                         "receivedAt", "data")},
               "trigger": {"id": spec.trigger_id, "name": spec.name, "version": spec.version}}
    try:
        config = spec.templates.render(context)
    except RenderFailed as failure:
        raise Undeliverable(f"the action config did not render: {failure}") from None
    shown = public_config(config)
    if spec.action_type != "webhook":
        return Delivery(dispatch_id, spec.action_type, action_subject(spec.tenant_id, spec.action_type),
                        orjson.dumps(_payload(spec, message, dispatch_id, shown)), shown)
    if not is_web_url(config["url"]):
        raise Undeliverable(f"the webhook URL rendered to {config['url'][:200]!r}, not an http or https URL")
    if "body" in config:  # a body template replaces the standard payload
        body = orjson.dumps(config["body"])
    else:
        body = orjson.dumps(_payload(spec, message, dispatch_id, shown))
    return Delivery(dispatch_id, "webhook", config["url"], body, shown, config["method"], config["headers"],
                    spec.action_config.get("secret"))


def _payload(spec: TriggerSpec, message: dict, dispatch_id: str, config: dict) -> dict:
    return {
        "dispatchId": dispatch_id,
        "tenantId": spec.tenant_id,
        "trigger": {"id": spec.trigger_id, "name": spec.name, "version": spec.version},
        "event": message,
        "config": config,
        "dispatchedAt": message["receivedAt"],
    }


class Sender:
    """Sends to JetStream or as a signed webhook. An attempt never raises: it says what happened."""

    def __init__(self, stream: Stream | None, webhooks: Webhooks):
        self.stream = stream
        self.webhooks = webhooks

    async def publish(self, subject: str, message_id: str, body: bytes) -> int:
        """The stream sequence JetStream acknowledged; raises when it did not. The caller bounds the wait."""
        if self.stream is None:
            raise StreamUnavailable("the stream is disabled (TRIPCORD_NATS_URL=none)")
        return await self.stream.publish(subject, message_id, body)

    async def publish_many(self, messages: list[tuple[str, str, bytes]], timeout: float) -> list[int | Exception]:
        if self.stream is None:
            return [StreamUnavailable("the stream is disabled (TRIPCORD_NATS_URL=none)")] * len(messages)
        return await self.stream.publish_many(messages, timeout)

    async def attempt(self, delivery: Delivery, timeout: float) -> Attempt:
        at_ms, started = int(time.time() * 1000), time.monotonic()
        reply, error, final = None, None, False
        try:
            async with asyncio.timeout(timeout):
                if not delivery.is_webhook:
                    await self.publish(delivery.target, delivery.dispatch_id, delivery.body)
                    return Attempt(at_ms, int((time.monotonic() - started) * 1000), True)
                reply = await self.webhooks.send(delivery, timeout)
        except WebhookRefused as refused:
            error, final = str(refused), True
        except TimeoutError:
            error = f"no answer within {timeout:.2f} s"
        except Exception as failure:  # any other failure is retried
            error = str(failure) or type(failure).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        if reply is None:
            return Attempt(at_ms, duration_ms, False, error, final=final)
        delivered = 200 <= reply.status < 300
        return Attempt(at_ms, duration_ms, delivered, None if delivered else f"webhook answered HTTP {reply.status}",
                       reply.status, reply.body)


def published(at_ms: int, started: float, outcome: int | Exception) -> Attempt:
    """The attempt of a stream action sent with others (Sender.publish_many): its acknowledgement or why not."""
    duration_ms = int((time.monotonic() - started) * 1000)
    if isinstance(outcome, Exception):
        return Attempt(at_ms, duration_ms, False, str(outcome) or type(outcome).__name__)
    return Attempt(at_ms, duration_ms, True)


def undeliverable(reason: str) -> Attempt:
    """The attempt that a dispatch which cannot be sent makes: none, final."""
    return Attempt(int(time.time() * 1000), 0, False, reason, final=True)
