"""Processes starting together on one fresh database must all get their tables.

Without the schema lock in `open_journal`, six concurrent starts fail with "duplicate key value violates
unique constraint pg_type_typname_nsp_index" most of the time: CREATE TABLE IF NOT EXISTS races.
"""

from concurrent.futures import ThreadPoolExecutor

from infrastructure.storage import open_journal


def test_concurrent_starts_on_a_fresh_postgres_database_all_succeed(fresh_postgres_url):
    with ThreadPoolExecutor(6) as pool:
        journals = list(pool.map(lambda _: open_journal(fresh_postgres_url), range(6)))

    for journal in journals:
        assert journal.recorder.max_notification_id() in (None, 0)
        journal.close()
        journal.recorder.datastore.engine.dispose()
