"""Tables beside the event store: the trigger listing, its projection position, and the outbox."""

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

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

projection_position = Table(
    "tripcord_projection_position",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

outbox = Table(
    "tripcord_outbox",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("target", JSON, nullable=True),
    Column("due_at_ms", BigInteger, nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
)
