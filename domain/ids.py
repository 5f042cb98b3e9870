"""Deterministic aggregate ids: one namespace, a readable key per aggregate kind."""

from uuid import UUID, uuid5

TRIPCORD_NAMESPACE = UUID("6f1c1a52-8a3e-4c62-9a57-3a1de9f1c0de")


def keyed_id(*parts: str) -> UUID:
    # "/" cannot occur in a tenant id, so distinct keys never collide by concatenation.
    return uuid5(TRIPCORD_NAMESPACE, "/".join(parts))
