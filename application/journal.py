"""The one event-sourced application: every aggregate Tripcord records lives in its log."""

from eventsourcing.application import Application


class Journal(Application):
    name = "tripcord"  # the event table is tripcord_events
