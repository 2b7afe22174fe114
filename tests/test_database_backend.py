"""The suite runs on the database it was asked to: CI relies on this to prove the PostgreSQL run."""
import os

import sqlalchemy as sa

from marketplace.extensions import db


def test_runs_on_the_requested_database(app):
    wanted = "postgresql" if os.environ.get("MARKETPLACE_TEST_DATABASE_URL") else "sqlite"
    assert db.engine.dialect.name == wanted


def test_schema_comes_from_the_migrations(app):
    """Every table of the models exists and Alembic's version table is at the newest revision."""
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401

    inspector = sa.inspect(db.engine)
    tables = set(inspector.get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
    assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head


def test_models_and_migrations_agree(app):
    """No model change without its migration: autogenerate finds nothing to do on a migrated database."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
