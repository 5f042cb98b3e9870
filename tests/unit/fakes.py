"""In-memory stand-ins for the application's ports, for unit tests."""

from dataclasses import replace


class Fixed:
    def __init__(self, config: dict):
        self.config = config

    def render(self, context: dict) -> dict:
        return self.config


class PlainTemplates:
    """Templates that render every config as it is: for tests about anything but templating."""

    def compile(self, config: dict) -> Fixed:
        return Fixed(config)


class Observer:
    """Takes every report and keeps none."""

    def __getattr__(self, name):
        return lambda *args: None


async def inline(fn, *args):
    """A Blocking port that runs the call at once."""
    return fn(*args)


class MemoryEventLog:
    def __init__(self, *events):
        self.entries = []  # EventEntry, in log order
        self.position = 0
        for event in events:
            self.append(event)

    def append(self, event, sequence=None):
        from application.records import EventEntry
        self.entries.append(EventEntry(len(self.entries) + 1, event, sequence))

    def find(self, tenant_id, event_id):
        return next((e for e in self.entries if e.event.event_id == event_id and e.event.tenant_id == tenant_id), None)

    def tail(self, after, limit):
        return [e for e in self.entries if e.position > after][:limit]

    def unsettled(self, after, limit):
        """Every event not streamed or with a fire: it cannot see dispatch records, which the port allows."""
        from application.records import Unsettled
        start = max(after, self.position)
        stretch = self.tail(start, limit)
        if not stretch:
            return Unsettled([], after, after, 0)
        maybe = [replace(e, event=replace(e.event, body=None)) for e in stretch
                 if e.stream_sequence is None or any(o.outcome == "fired" for o in e.event.outcomes)]
        return Unsettled(maybe, start, stretch[-1].position, len(stretch))

    def bodies(self, event_ids):
        return {e.event.event_id: e.event.body for e in self.entries if e.event.event_id in event_ids}

    def advance(self, position):
        self.position = max(self.position, position)

    def acknowledge(self, acks):
        from application.records import EventEntry
        sequences = {a.event_id: a.sequence for a in acks}
        self.entries = [EventEntry(e.position, e.event, e.stream_sequence or sequences.get(e.event.event_id))
                        for e in self.entries]


class MemoryDispatchLog:
    """Dispatch records with the claim rules of the SQL one: one holder at a time, only the holder settles."""

    def __init__(self):
        self.records = {}
        self.settled = []

    def get(self, tenant_id, dispatch_id):
        record = self.records.get(dispatch_id)
        return record if record is not None and record.tenant_id == tenant_id else None

    def statuses(self, ids):
        return {i: self.records[i].state.status for i in ids if i in self.records}

    def recover(self, records):
        for record in records:
            self.records.setdefault(record.id, record)

    def claim_due(self, now_ms, lease_ms, limit):
        import dataclasses
        due = [r for r in self.records.values() if r.state.status in ("pending", "retrying") and r.claim is None
               and (r.state.next_attempt_at_ms or 0) <= now_ms][:limit]
        for record in due:
            self.records[record.id] = dataclasses.replace(record, claim="token")
        return [self.records[r.id] for r in due]

    def settle(self, record, attempt, state):
        import dataclasses
        if self.records[record.id].claim != record.claim:
            return False
        self.records[record.id] = dataclasses.replace(record, state=state, claim=None,
                                                      attempts=(*record.attempts, attempt.as_dict()))
        self.settled.append((record.id, attempt))
        return True


class AcknowledgingStream:
    """A stream that acknowledges every message at once, numbering them and keeping none: the
    benchmarks publish through it for minutes."""

    def __init__(self):
        self.sequence = 0

    async def publish(self, subject, message_id, body):
        self.sequence += 1
        return self.sequence

    async def publish_many(self, messages, timeout):
        return [await self.publish(*message) for message in messages]
