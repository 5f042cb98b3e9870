"""The trigger condition language: typed, strict JSON conditions over an event's data and envelope.

    from domain.conditions import Condition, InvalidCondition, Explanation, LeafTrace
"""

from domain.conditions.evaluation import Explanation, LeafTrace, explainer, matcher
from domain.conditions.parsing import InvalidCondition, parse_tree

__all__ = ["Condition", "Explanation", "InvalidCondition", "LeafTrace"]


def _always(data, envelope) -> bool:
    return True


class Condition:
    """A checked condition, compiled once; matches() is the hot path, explain() the diagnostic one."""

    __slots__ = ("raw", "_tree", "matches", "_explain", "__weakref__")

    def __init__(self, raw: dict | None, tree):
        self.raw = raw
        self._tree = tree
        # matches(data, envelope) -> bool is the compiled closure itself: one call per candidate.
        self.matches = _always if tree is None else matcher(tree)
        self._explain = None  # built on first use: only dry runs explain, every ingest matches

    @classmethod
    def parse(cls, raw: dict | None) -> "Condition":
        return cls(raw, parse_tree(raw))

    @property
    def tree(self):
        """The checked tree of leaves and groups (None: no condition)."""
        return self._tree

    def explain(self, data: dict, envelope: dict) -> Explanation:
        if self._tree is None:
            return Explanation(True, "No condition: always fires", [])
        if self._explain is None:
            self._explain = explainer(self._tree)
        trace: list[LeafTrace] = []
        matched, reason = self._explain(data, envelope, trace)
        return Explanation(matched, "All conditions matched" if matched else reason, trace)

    def __repr__(self) -> str:
        return f"Condition({self.raw!r})"
