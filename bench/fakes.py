"""Stand-ins the in-process benchmarks use where no I/O is measured."""


class _Fixed:
    def __init__(self, config: dict):
        self.config = config

    def render(self, context: dict) -> dict:
        return self.config


class PlainTemplates:
    """Action configs without templates, as the benchmark's triggers have: rendering costs nothing."""

    def compile(self, config: dict) -> _Fixed:
        return _Fixed(config)
