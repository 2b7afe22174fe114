"""Shared by the fuzz tests: bounded, deterministic Hypothesis settings and a snapshot of every table,
to show that a refused request wrote nothing."""
from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz_settings(max_examples: int, **extra) -> settings:
    """Same examples on every run (derandomize, no example database), no time limit per example:
    the examples are real requests on a real database, whose speed is not what is tested."""
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    print_blob=False, suppress_health_check=list(HealthCheck), **extra)


def snapshot(*, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every committed row of every table, read on a connection of its own (not the test's session)."""
    from marketplace.extensions import db

    rows = {}
    connection = db.engine.raw_connection()  # the driver's own cursor: a few hundred tables read a second
    try:
        cursor = connection.cursor()
        for table in db.metadata.sorted_tables:
            if table.name not in skip:
                cursor.execute(f'SELECT * FROM "{table.name}"')
                rows[table.name] = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
        cursor.close()
        connection.rollback()
    finally:
        connection.close()
    return rows


def changes(before: dict, after: dict) -> dict[str, dict[str, list]]:
    """The rows that appeared or disappeared, per table (an updated row is both)."""
    found = {}
    for name in before:
        gone = [row for row in before[name] if row not in after[name]]
        new = [row for row in after[name] if row not in before[name]]
        if gone or new:
            found[name] = {"before": gone, "after": new}
    return found
