"""The one event-sourced application: every aggregate Tripcord records lives in its log."""

from eventsourcing.application import Application


class Journal(Application):
    name = "tripcord"  # the event table is tripcord_events
    snapshot_every = 50  # events replayed on a reload before it writes a snapshot

    def reload(self, aggregate_id):
        """The aggregate as recorded: from its latest snapshot and the events since, when snapshots are on.
        A reload that replayed `snapshot_every` events or more leaves a snapshot, so that a cooldown
        fired every day for years does not replay its whole history on every reload."""
        aggregate = self.repository.get(aggregate_id)
        if self.snapshots is not None:
            latest = next(iter(self.snapshots.get(aggregate_id, desc=True, limit=1)), None)
            if aggregate.version - (latest.originator_version if latest else 0) >= self.snapshot_every:
                self.take_snapshot(aggregate_id, version=aggregate.version)
        return aggregate
