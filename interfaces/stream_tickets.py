"""Tickets for the live stream: EventSource cannot send headers, and a long-lived token must never sit in a URL.

A ticket is obtained with the bearer token (POST /api/v1/stream-tickets), names its tenant and
subject, lives 30 seconds, and opens one stream. It is an HMAC of those facts under a key derived
from the JWT secret, so any process of the same deployment can check it; each process refuses a
ticket it has already seen.
"""

import base64
import hashlib
import hmac
import secrets
import time

import orjson

TICKET_TTL_S = 30


class InvalidTicket(Exception):
    pass


class Tickets:
    def __init__(self, jwt_secret: str):
        self._key = hashlib.sha256(b"tripcord stream tickets\0" + jwt_secret.encode()).digest()
        self._used: dict[str, float] = {}  # nonce → expiry, so that a ticket opens one stream

    def issue(self, tenant_id: str, subject: str) -> tuple[str, int]:
        expires = int(time.time()) + TICKET_TTL_S
        payload = base64.urlsafe_b64encode(orjson.dumps(
            {"t": tenant_id, "s": subject, "e": expires, "n": secrets.token_hex(8)})).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}", expires

    def redeem(self, ticket: str) -> tuple[str, str]:
        """The (tenant, subject) a ticket was issued for; raises InvalidTicket once used, expired or forged."""
        payload, _, signature = ticket.partition(".")
        # Bytes: compare_digest refuses str with non-ASCII characters, and a ticket comes from anyone.
        if not signature or not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise InvalidTicket("the ticket is not one we issued")
        try:
            facts = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            raise InvalidTicket("the ticket cannot be read") from None
        now = time.time()
        if facts["e"] < now:
            raise InvalidTicket("the ticket has expired; ask for a new one")
        self._used = {nonce: expiry for nonce, expiry in self._used.items() if expiry >= now}
        if facts["n"] in self._used:
            raise InvalidTicket("the ticket was used already; ask for a new one")
        self._used[facts["n"]] = facts["e"]
        return facts["t"], facts["s"]

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
