"""Column helpers shared by every model."""
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=False)


@contextmanager
def savepoint():
    """A SAVEPOINT that also behaves on SQLite: its driver opens transactions only at the first write,
    so a SAVEPOINT issued first would start the transaction itself and its release would commit."""
    from marketplace.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
    with db.session.begin_nested():
        yield


def append_only(model, what: str) -> None:
    """Refuse, at the ORM level, any update or delete of `model`'s rows (audit trails)."""

    def refuse(mapper, connection, target):
        raise RuntimeError(f"{what} is append-only")

    sa.event.listen(model, "before_update", refuse)
    sa.event.listen(model, "before_delete", refuse)
