"""actionConfig templates: Liquid (python-liquid), parsed once per trigger version, rendered with limits.

Liquid is sandboxed by design: a template reads the mappings and lists it is given and calls only
the registered filters, never Python attributes. The limits below stop a template that would loop
or grow without end; a render that hits one fails that dispatch, never the ingest.
"""

import liquid
from liquid.exceptions import LiquidError

from application.ports import InvalidTemplate, RenderFailed

MARKERS = ("{{", "{%")


class _Sandbox(liquid.Environment):
    loop_iteration_limit = 10_000  # iterations per render, nested loops included
    output_stream_limit = 64 * 1024  # characters a template may write
    local_namespace_limit = 64 * 1024  # bytes (about) that assign and capture may hold
    context_depth_limit = 30
    block_nesting_limit = 30


class _Template:
    __slots__ = ("path", "template")

    def __init__(self, path: str, template):
        self.path = path
        self.template = template


class LiquidTemplates:
    def __init__(self):
        self.environment = _Sandbox()

    def compile(self, config: dict):
        compiled = self._compile(config, "actionConfig")
        return _Rendered(compiled) if _has_template(compiled) else _Fixed(config)

    def _compile(self, value, path: str):
        if isinstance(value, str):
            if not any(marker in value for marker in MARKERS):
                return value
            try:
                return _Template(path, self.environment.from_string(value))
            except LiquidError as error:
                raise InvalidTemplate(path, f"is not a valid Liquid template: {_first_line(error)}") from None
        if isinstance(value, dict):
            # The secret is a key, never a template, whatever it holds.
            return {k: v if (k == "secret" and path == "actionConfig") else self._compile(v, f"{path}.{k}")
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._compile(item, f"{path}[{n}]") for n, item in enumerate(value)]
        return value


class _Fixed:
    """A config without templates renders to itself, at no cost."""

    def __init__(self, config: dict):
        self.config = config

    def render(self, context: dict) -> dict:
        return self.config


class _Rendered:
    def __init__(self, compiled: dict):
        self.compiled = compiled

    def render(self, context: dict) -> dict:
        return _render(self.compiled, context)


def _render(value, context: dict):
    if isinstance(value, _Template):
        try:
            return value.template.render(**context)
        except LiquidError as error:
            raise RenderFailed(f"{value.path}: {_first_line(error)}") from None
        except (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError) as error:
            raise RenderFailed(f"{value.path}: {type(error).__name__}: {error}") from None
    if isinstance(value, dict):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    return value


def _has_template(value) -> bool:
    if isinstance(value, _Template):
        return True
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
