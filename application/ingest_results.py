"""What an ingest answers: the event, its stream sequence, the triggers that fired and what became of each."""

from dataclasses import asdict, dataclass, field


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class Matched:
    trigger_id: str
    action_type: str


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class Dispatched:
    trigger_id: str
    action_type: str
    dispatch_id: str
    config: dict


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class DispatchFailed:
    trigger_id: str
    action_type: str
    dispatch_id: str
    error: str


@dataclass
class IngestResult:
    event_id: str
    event_type: str
    customer_id: str
    stream_sequence: int | None
    matched: list[Matched] = field(default_factory=list)
    dispatched: list[Dispatched] = field(default_factory=list)
    failed: list[DispatchFailed] = field(default_factory=list)

    @property
    def stream_id(self) -> str | None:
        return self.event_id if self.stream_sequence is not None else None

    def as_record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "IngestResult":
        return cls(record["event_id"], record["event_type"], record["customer_id"], record["stream_sequence"],
                   [Matched(**m) for m in record["matched"]], [Dispatched(**d) for d in record["dispatched"]],
                   [DispatchFailed(**f) for f in record["failed"]])
