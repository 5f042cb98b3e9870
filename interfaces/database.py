"""The database from the command line: opened with one clear line when it cannot be, and rebuilt read models."""

from contextlib import contextmanager

from infrastructure.settings import Settings
from infrastructure.sql.database import Database, open_journal
from infrastructure.sql.listing import SqlTriggerListing
from infrastructure.sql.stats import rebuild_stats
from infrastructure.sql.tenant_settings import SqlTenantSettings


@contextmanager
def opened(settings: Settings):
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # the SQLite default lives there
    try:
        journal = open_journal(settings.sqlalchemy_url)
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise SystemExit(f"tripcord: cannot open the database: {reason}") from None
    try:
        yield Database(journal)
    finally:
        journal.close()


def replay_projections(settings: Settings) -> int:
    with opened(settings) as database:
        applied = SqlTriggerListing(database).replay_listing()
        settings = SqlTenantSettings(database).replay()
        counted = rebuild_stats(database)
    print(f"trigger listing rebuilt from {applied} events; tenant settings from {settings}; trigger counts "
          f"from {counted} logged events and their dispatches")
    return 0
