"""Opening and closing the journal: concurrent starts all get their tables; closing frees connections.

Without the schema lock in `open_journal`, six concurrent starts fail with "duplicate key value violates
unique constraint pg_type_typname_nsp_index" most of the time: CREATE TABLE IF NOT EXISTS races.
"""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg

from infrastructure.sql.database import open_journal
from tests.servers import libpq_url


def test_concurrent_starts_on_a_fresh_postgres_database_all_succeed(fresh_postgres_url):
    with ThreadPoolExecutor(6) as pool:
        journals = list(pool.map(lambda _: open_journal(fresh_postgres_url), range(6)))

    for journal in journals:
        assert journal.recorder.max_notification_id() in (None, 0)
        journal.close()


def test_closing_a_journal_releases_its_database_connections(fresh_postgres_url, postgres_admin_url):
    def connections() -> int:
        with psycopg.connect(libpq_url(postgres_admin_url), autocommit=True) as admin:
            return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                 [urlsplit(fresh_postgres_url).path.lstrip("/")]).fetchone()[0]

    journal = open_journal(fresh_postgres_url)
    journal.recorder.max_notification_id()
    opened = connections()

    journal.close()

    assert opened >= 1 and connections() == 0
