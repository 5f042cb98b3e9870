"""Action types and the validation of their configuration."""

from urllib.parse import urlsplit

from domain.errors import InvalidTrigger

ACTION_TYPES = ("recommend", "enroll_journey", "decision_request", "webhook")
ACTION_ALIASES = {"journey_enroll": "enroll_journey"}
STREAM_ACTIONS = frozenset({"recommend", "enroll_journey", "decision_request"})
WEBHOOK_METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
WRITE_ONLY_KEYS = frozenset({"secret"})

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
    "webhook": ("method", "headers", "secret"),
}


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
        if key != "headers" and not (isinstance(value, str) and 0 < len(value) <= 2048):
            raise InvalidTrigger(f"actionConfig.{key}", "must be a non-empty string")
    if action_type == "webhook":
        return _validated_webhook(config)
    return dict(config)


def _validated_webhook(config: dict) -> dict:
    try:
        url = urlsplit(config["url"])
        url.port  # raises for a port out of range, as urlsplit does for a broken IPv6 literal
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidTrigger("actionConfig.url", "must be an absolute http or https URL")
    method = config.get("method", "POST").upper()
    if method not in WEBHOOK_METHODS:
        raise InvalidTrigger("actionConfig.method", f"must be one of {', '.join(WEBHOOK_METHODS)}")
    headers = config.get("headers", {})
    if not isinstance(headers, dict) or len(headers) > 32 or not all(
        isinstance(k, str) and isinstance(v, str) and k and len(k) <= 256 and len(v) <= 2048
        for k, v in headers.items()
    ):
        raise InvalidTrigger("actionConfig.headers", "must be an object of at most 32 string headers")
    return {**config, "method": method, "headers": headers}


def public_config(config: dict) -> dict:
    """The config as shown to users: write-only keys never leave the service."""
    return {k: v for k, v in config.items() if k not in WRITE_ONLY_KEYS}
