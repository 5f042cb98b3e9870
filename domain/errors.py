"""Errors raised by the domain's rules."""


class InvalidTrigger(ValueError):
    """A trigger setting breaks a rule; `details` names each offending field."""

    def __init__(self, field: str, message: str, details: list[dict] | None = None):
        super().__init__(f"{field}: {message}")
        self.details = details or [{"path": field, "message": message}]
