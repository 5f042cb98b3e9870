"""Action types and the validation of their configuration."""

import base64
import binascii
import re
from urllib.parse import urlsplit

from domain.errors import InvalidTrigger

ACTION_TYPES = ("recommend", "enroll_journey", "decision_request", "webhook")
ACTION_ALIASES = {"journey_enroll": "enroll_journey"}
STREAM_ACTIONS = frozenset({"recommend", "enroll_journey", "decision_request"})
WEBHOOK_METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
MASK = "********"
SETTING_MAX = 2048
BODY_MAX = 16 * 1024  # characters of a webhook body template, as JSON
SECRET_MIN_BYTES = 24
MAX_HEADERS = 32

# Headers that would let a trigger author forge the target host, desynchronise the request's
# framing, or pass for our signature.
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "te", "upgrade"})
FORBIDDEN_HEADER_PREFIX = "webhook-"
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")  # RFC 9110 token
HEADER_VALUE = re.compile(r"^[^\x00-\x08\x0a-\x1f\x7f]*$")  # no line breaks or other controls

_REQUIRED = {
    "recommend": ("decisionFlowId",),
    "enroll_journey": ("journeyId",),
    "decision_request": ("decisionFlowId",),
    "webhook": ("url",),
}
_OPTIONAL = {
    "recommend": ("channel",),
    "enroll_journey": (),
    "decision_request": (),
    "webhook": ("method", "headers", "secret", "body"),
}
_STRUCTURED = ("headers", "body")  # every other setting is a string


def canonical_action_type(action_type: str) -> str:
    canonical = ACTION_ALIASES.get(action_type, action_type)
    if canonical not in ACTION_TYPES:
        raise InvalidTrigger("actionType", f"must be one of {', '.join(ACTION_TYPES)}")
    return canonical


def config_keys(action_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The required and the optional actionConfig keys of a (canonical) action type."""
    return _REQUIRED[action_type], _OPTIONAL[action_type]


def validated_config(action_type: str, config: dict) -> dict:
    """The config with defaults applied; raises InvalidTrigger naming the offending key."""
    if not isinstance(config, dict):
        raise InvalidTrigger("actionConfig", "must be an object")
    allowed = _REQUIRED[action_type] + _OPTIONAL[action_type]
    for key in config:
        if key not in allowed:
            raise InvalidTrigger(f"actionConfig.{key}", f"is not a {action_type} setting")
    for key in _REQUIRED[action_type]:
        if key not in config:
            raise InvalidTrigger(f"actionConfig.{key}", f"is required for {action_type}")
    for key, value in config.items():
        if key not in _STRUCTURED and not (isinstance(value, str) and 0 < len(value) <= SETTING_MAX):
            raise InvalidTrigger(f"actionConfig.{key}", f"must be a non-empty string of at most {SETTING_MAX} characters")
    if action_type == "webhook":
        return _validated_webhook(config)
    return dict(config)


def _validated_webhook(config: dict) -> dict:
    if not is_web_url(config["url"]):
        raise InvalidTrigger("actionConfig.url", "must be an absolute http or https URL")
    method = config.get("method", "POST").upper()
    if method not in WEBHOOK_METHODS:
        raise InvalidTrigger("actionConfig.method", f"must be one of {', '.join(WEBHOOK_METHODS)}")
    headers = _validated_headers(config.get("headers", {}))
    if "secret" in config:
        _check_secret(config["secret"])
    checked = {**config, "method": method, "headers": headers}
    if "body" in config:
        _check_body(config["body"])
    return checked


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # raises for a port out of range, as urlsplit does for a broken IPv6 literal
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _validated_headers(headers) -> dict:
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        raise InvalidTrigger("actionConfig.headers", f"must be an object of at most {MAX_HEADERS} headers")
    seen = set()
    for name, value in headers.items():
        where = f"actionConfig.headers.{name}"
        if not HEADER_NAME.match(name):
            raise InvalidTrigger(where, "is not a valid header name")
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_HEADER_PREFIX):
            raise InvalidTrigger(where, "is set by Tripcord itself and cannot be configured")
        if lowered in seen:
            raise InvalidTrigger(where, "is given twice (header names are case-insensitive)")
        seen.add(lowered)
        if not isinstance(value, str) or len(value) > SETTING_MAX or not HEADER_VALUE.match(value):
            raise InvalidTrigger(where, f"must be a string of at most {SETTING_MAX} characters without line breaks")
    return dict(headers)


def _check_secret(secret: str) -> None:
    """Standard Webhooks keys: whsec_ and base64 of at least 24 bytes, or a plain string of 24+ characters."""
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < SECRET_MIN_BYTES:
            raise InvalidTrigger("actionConfig.secret",
                                 f"a whsec_ secret is whsec_ and base64 of at least {SECRET_MIN_BYTES} bytes")
    elif len(secret) < SECRET_MIN_BYTES:
        raise InvalidTrigger("actionConfig.secret", f"must be at least {SECRET_MIN_BYTES} characters, "
                                                    "or whsec_ and base64 of at least that many bytes")


def signing_key(secret: str) -> bytes:
    """The HMAC key a (validated) secret stands for."""
    return base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()


def _check_body(body) -> None:
    if not isinstance(body, dict):
        raise InvalidTrigger("actionConfig.body", "must be a JSON object: the webhook's body, its strings templates")
    if len(repr(body)) > BODY_MAX:
        raise InvalidTrigger("actionConfig.body", f"holds at most {BODY_MAX} characters")


def public_config(config: dict) -> dict:
    """The config as users see it: the secret never leaves the service, header values are masked."""
    shown = {k: v for k, v in config.items() if k != "secret"}
    if isinstance(shown.get("headers"), dict):
        shown["headers"] = dict.fromkeys(shown["headers"], MASK)
    return shown
