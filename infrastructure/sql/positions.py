"""Named positions in a log: each projection's, and the relay's checkpoint in the event log."""

from sqlalchemy import insert, select, update

from infrastructure.sql.tables import positions


def position_of(connection, name: str) -> int:
    return connection.execute(select(positions.c.position).where(positions.c.name == name)).scalar() or 0


def lock_position(session, name: str) -> int:
    """Takes the row (creating it at 0), so writers of one position take turns; returns it."""
    found = session.execute(select(positions.c.position).where(positions.c.name == name).with_for_update()).first()
    if found is None:
        session.execute(insert(positions), [{"name": name, "position": 0}])
        return 0
    return found[0]


def set_position(session, name: str, position: int, database=None) -> None:
    """Sets the position; with `database`, only ever forward."""
    value = position if database is None else database.greatest(positions.c.position, position)
    session.execute(update(positions).where(positions.c.name == name).values(position=value))
