"""Opening the event store from the command line: the journal, or one clear line saying why not."""

from application.journal import Journal
from infrastructure.settings import Settings
from infrastructure.storage import open_journal


def open_database(settings: Settings) -> Journal:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # the SQLite default lives there
    try:
        return open_journal(settings.sqlalchemy_url)
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise SystemExit(f"tripcord: cannot open the database: {reason}") from None
