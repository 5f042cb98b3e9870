"""Tables beside the event store: the event log and what hangs off it, dispatches, keys, and read models."""

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text, and_, false

from domain.dispatch import event_prefix

metadata = MetaData()

POSITION = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias only for INTEGER PRIMARY KEY
BYTEWISE = String(160).with_variant(String(160, collation="C"), "postgresql")  # prefix ranges use the index

# Ingested events, append-only: one row per event, its stream body and what each matching trigger did.
# Rows are written under the event store's exclusive lock, so positions commit in order (the relay
# tails them from a checkpoint).
event_log = Table(
    "tripcord_event_log",
    metadata,
    Column("position", POSITION, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("customer_id", String(256), nullable=False),
    Column("type", String(32), nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    Column("body", JSON, nullable=False),
    Column("outcomes", JSON, nullable=False),  # [[trigger id, version, action type, outcome], ...]
)
Index("tripcord_event_log_customer", event_log.c.tenant_id, event_log.c.customer_id, event_log.c.position)

# JetStream's acknowledgement of each event, appended once it is known (insert-only: no row update).
stream_acks = Table(
    "tripcord_stream_acks",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
)

# One row per dispatch, written when its first attempt settles (or by the relay when none left a
# trace), and changed only by later attempts.
dispatches = Table(
    "tripcord_dispatches",
    metadata,
    Column("id", BYTEWISE, primary_key=True),  # dsp_<event>_<trigger>: an event's dispatches are a key range
    Column("tenant_id", String(64), nullable=False),
    Column("trigger_id", String(64), nullable=False),
    Column("trigger_version", Integer, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("customer_id", String(256), nullable=False),
    Column("action_type", String(32), nullable=False),
    Column("target", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", JSON, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("next_attempt_at_ms", BigInteger, nullable=True),
    Column("delivered_at_ms", BigInteger, nullable=True),
    Column("claimed_until_ms", BigInteger, nullable=True),
    Column("claim", String(32), nullable=True),
)
Index("tripcord_dispatches_page", dispatches.c.tenant_id, dispatches.c.created_at_ms, dispatches.c.id)
Index("tripcord_dispatches_trigger", dispatches.c.tenant_id, dispatches.c.trigger_id, dispatches.c.created_at_ms)
Index("tripcord_dispatches_customer", dispatches.c.tenant_id, dispatches.c.customer_id, dispatches.c.created_at_ms)
# Partial: most dispatches are delivered at once and never enter these two.
_UNDELIVERED = dispatches.c.status != "delivered"
_DUE = dispatches.c.status.in_(("pending", "retrying"))
Index("tripcord_dispatches_undelivered", dispatches.c.tenant_id, dispatches.c.status, dispatches.c.created_at_ms,
      postgresql_where=_UNDELIVERED, sqlite_where=_UNDELIVERED)
Index("tripcord_dispatches_due", dispatches.c.next_attempt_at_ms, postgresql_where=_DUE, sqlite_where=_DUE)


def dispatches_of(event_id: str):
    """An event's dispatches, as a range of the primary key: every id from its prefix up to the
    next character after the prefix's final "_" ("`", in byte order)."""
    prefix = event_prefix(event_id)
    return and_(dispatches.c.id >= prefix, dispatches.c.id < prefix[:-1] + chr(ord(prefix[-1]) + 1))


# Counts per trigger, kept in the transactions that record the facts they count.
trigger_stats = Table(
    "tripcord_trigger_stats",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("trigger_id", String(64), primary_key=True),
    Column("fired", BigInteger, nullable=False, default=0),
    Column("cooldown", BigInteger, nullable=False, default=0),
    Column("frequency_capped", BigInteger, nullable=False, default=0),
    Column("delivered", BigInteger, nullable=False, default=0),
    Column("retrying", BigInteger, nullable=False, default=0),
    Column("dead", BigInteger, nullable=False, default=0),
    Column("last_fired_at_ms", BigInteger, nullable=True),
)

idempotency = Table(
    "tripcord_idempotency",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False, index=True),
    Column("lease_until_ms", BigInteger, nullable=False),
    Column("response", JSON, nullable=True),
)

trigger_listing = Table(
    "tripcord_trigger_listing",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("trigger_id", String(64), primary_key=True),
    Column("aggregate_id", String(36), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("action_type", String(32), nullable=False),
    Column("action_config", JSON, nullable=False),
    Column("condition", JSON, nullable=True),
    Column("priority", BigInteger, nullable=False),
    Column("cooldown_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("ignore_frequency_caps", Boolean, nullable=False, server_default=false()),
    Column("deleted", Boolean, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False, index=True),
)
# Both match the listing order (priority descending, then oldest first) so a page is an index
# scan; the included columns let the status filter and deep offsets skip the table.
Index("tripcord_trigger_listing_page", trigger_listing.c.tenant_id, trigger_listing.c.deleted,
      trigger_listing.c.priority.desc(), trigger_listing.c.created_at_us, trigger_listing.c.trigger_id,
      postgresql_include=["status", "event_type"])
Index("tripcord_trigger_listing_type_page", trigger_listing.c.tenant_id, trigger_listing.c.event_type,
      trigger_listing.c.deleted, trigger_listing.c.priority.desc(), trigger_listing.c.created_at_us,
      trigger_listing.c.trigger_id, postgresql_include=["status"])

# How many triggers each tenant has per (status, event type), kept with the listing, so a page's
# total is a sum over a few rows instead of a count over all the tenant's triggers.
trigger_counts = Table(
    "tripcord_trigger_counts",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("event_type", String(100), primary_key=True),
    Column("triggers", BigInteger, nullable=False),
)

# Where each projection (and the relay's catch-up) stands in its log.
positions = Table(
    "tripcord_positions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# A tenant's settings as they stand: its frequency caps, its event schemas. A projection of their
# aggregates, kept in the transaction that records them.
tenant_settings = Table(
    "tripcord_tenant_settings",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),  # frequency_caps | event_schema
    Column("name", String(100), primary_key=True),  # the event type of a schema; "" for the caps
    Column("aggregate_id", String(36), nullable=False, unique=True),
    Column("document", JSON, nullable=True),  # null once removed
    Column("version", Integer, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False, index=True),
)
