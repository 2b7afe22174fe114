"""`flask backup create` / `flask backup restore`.

The archive (tar.gz) holds:
- `manifest.json`: format, creation time, the schema revision (Alembic), the database kind, and the
  number of rows of each table;
- `tables/<name>.jsonl`: every row of every table, one JSON object per line, read in one consistent
  snapshot (a copy made with SQLite's backup API, or a REPEATABLE READ transaction on PostgreSQL).
  The format does not depend on the database: a SQLite backup restores into PostgreSQL and back;
- `uploads/…`: the uploaded files (listing photos); `secret_key` (signed links keep working) and
  `settings.env` (the MARKETPLACE_* settings of the process that made it, for reference).

The search index is not in it: `restore` rebuilds it. The job queue is not either: jobs waiting when the
backup was made are not replayed (the periodic sweeps redo what matters: mail outbox, reminders).

Restore refuses a database that holds data: it creates the schema at the backup's revision, loads
the rows table by table in the order of their foreign keys, brings the schema up to this version's
migrations, then copies the files and rebuilds the search index.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from marketplace.extensions import db
from marketplace.models_base import utcnow

FORMAT = "marketplace-backup/1"
# Derived from the listings: rebuilt by `flask search rebuild` after a restore.
DERIVED_TABLES = frozenset({"search_document", "search_document_territory", "search_word", "search_index_state"})
SKIPPED_PREFIXES = ("alembic_version", "sqlite_", "huey_", "test_jobs_")
BATCH = 1000
SECRET_SETTINGS = ("PASSWORD", "SECRET", "TOKEN", "KEY")


class BackupError(Exception):
    """Why a backup or a restore cannot go on, and what to do."""


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --- values ---------------------------------------------------------------------------------------


def encode(value):
    """A column value as JSON: dates and times in ISO 8601, decimals as strings, bytes in base64."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


def decoder(column_type) -> Callable:
    """How to read back a value of this column type (as reflected from the target database)."""
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        python_type = None
    if isinstance(column_type, sa.JSON) or python_type in (dict, list):
        return lambda v: v
    if python_type is datetime:
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if python_type is date:
        return lambda v: None if v is None else date.fromisoformat(v)
    if python_type is time:
        return lambda v: None if v is None else time.fromisoformat(v)
    if python_type is Decimal:
        return lambda v: None if v is None else Decimal(v)
    if python_type is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    return lambda v: v


def _tables(connection) -> list[sa.Table]:
    """The application's tables as the database holds them, parents before children."""
    return _ordered(connection)[0]


def _ordered(connection) -> tuple[list[sa.Table], list[sa.ForeignKeyConstraint]]:
    """(tables parents first, the foreign keys of the cycles): a company is created by a user who
    belongs to a company; those keys are loaded empty, then filled once every row is in."""
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    kept = [t for t in metadata.tables.values()
            if t.name not in DERIVED_TABLES and not t.name.startswith(SKIPPED_PREFIXES)]
    ordered, cycles = [], []
    for table, constraints in sa.schema.sort_tables_and_constraints(kept):
        if table is None:
            cycles.extend(constraints)
        else:
            ordered.append(table)
    return ordered, cycles


def _revision(connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


# --- create ---------------------------------------------------------------------------------------


def create(output: Path | None = None, progress: Progress = _quiet) -> Path:
    """Write a backup archive of the current app's instance; returns its path."""
    config = current_app.config
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    output = Path(output) if output else Path(config["INSTANCE_PATH"]) / "backups" / f"backup-{stamp}.tar.gz"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="marketplace-backup-") as tmp:
        engine, snapshot = _snapshot(Path(tmp))
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                revision = _revision(connection)
                if revision is None:
                    raise BackupError("La base n'a pas de schéma : lancez « flask db upgrade » d'abord.")
                counts = {}
                with tarfile.open(partial, "w:gz") as archive:
                    for table in _tables(connection):
                        counts[table.name] = _dump_table(connection, table, archive, Path(tmp))
                        progress(f"{table.name}: {counts[table.name]} lignes")
                    files = _add_uploads(archive, Path(config["UPLOAD_FOLDER"]))
                    progress(f"fichiers déposés : {files}")
                    secret = Path(config["INSTANCE_PATH"]) / "secret_key"
                    if secret.exists():
                        archive.add(secret, arcname="secret_key")
                    _add_bytes(archive, "settings.env", _settings_env().encode())
                    manifest = {"format": FORMAT, "created_at": utcnow().isoformat(), "revision": revision,
                                "database": engine.dialect.name, "tables": counts, "uploads": files}
                    _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
        finally:
            if snapshot:
                engine.dispose()
    partial.replace(output)
    return output


def _snapshot(tmp: Path):
    """(engine, is_copy): on SQLite a consistent copy of the file made by its backup API (the site may
    be writing meanwhile); on PostgreSQL the app's engine, read in one REPEATABLE READ transaction."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return engine, False
    copy = tmp / "snapshot.db"
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return sa.create_engine(f"sqlite:///{copy}"), True


def _dump_table(connection, table: sa.Table, archive: tarfile.TarFile, tmp: Path) -> int:
    """Write the table's rows to a file beside the archive (a million listings do not fit in memory as
    JSON), then into the archive."""
    columns = [c.name for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    path = tmp / f"{table.name}.jsonl"
    count = 0
    with open(path, "wb") as out:
        for row in connection.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order)):
            out.write(json.dumps({c: encode(v) for c, v in zip(columns, row)}, ensure_ascii=False).encode())
            out.write(b"\n")
            count += 1
    archive.add(path, arcname=f"tables/{table.name}.jsonl")
    path.unlink()
    return count


def _add_uploads(archive: tarfile.TarFile, folder: Path) -> int:
    count = 0
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=f"uploads/{path.relative_to(folder).as_posix()}")
                count += 1
    return count


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def _settings_env() -> str:
    lines = ["# MARKETPLACE_* settings of the process that made this backup (secrets left out)."]
    for key in sorted(os.environ):
        if key.startswith("MARKETPLACE_"):
            hidden = any(word in key for word in SECRET_SETTINGS) or "URL" in key and "@" in os.environ[key]
            lines.append(f"{key}={'(not copied)' if hidden else os.environ[key]}")
    return "\n".join(lines) + "\n"


# --- restore --------------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path, "r:gz") as archive:
            manifest = json.load(archive.extractfile("manifest.json"))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} n'est pas une sauvegarde lisible ({exc}).") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} : format {manifest.get('format')!r} inconnu (attendu {FORMAT}).")
    return manifest


def restore(path: Path, progress: Progress = _quiet) -> dict:
    """Restore the archive into the current app's instance, whose database must be empty. Returns the
    manifest."""
    from flask_migrate import upgrade

    path = Path(path)
    manifest = read_manifest(path)
    config = current_app.config
    uploads = Path(config["UPLOAD_FOLDER"])
    with db.engine.connect() as connection:
        if _holds_data(connection):
            raise BackupError("La base de données contient déjà des données : restaurez dans une instance vide "
                              "(nouvelle base, nouveau dossier d'instance).")
    if uploads.is_dir() and any(p.is_file() for p in uploads.rglob("*")):
        raise BackupError(f"Le dossier des fichiers déposés {uploads} n'est pas vide : restaurez dans une "
                          "instance vide.")
    migrations = str(Path(current_app.root_path).parent / "migrations")
    progress(f"schéma à la révision de la sauvegarde ({manifest['revision']})")
    upgrade(directory=migrations, revision=manifest["revision"])
    with tarfile.open(path, "r:gz") as archive, db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        ordered, cycles = _ordered(connection)
        tables = {t.name: t for t in ordered}
        missing = set(manifest["tables"]) - set(tables)
        if missing:
            raise BackupError(f"Tables de la sauvegarde absentes du schéma : {', '.join(sorted(missing))}.")
        later = {t.name: set() for t in ordered}
        for constraint in cycles:
            later[constraint.parent.name].update(constraint.column_keys)
        for table in reversed(ordered):  # what the migrations put in (shipped defaults): the backup's instead
            connection.execute(table.delete())
        fill: list[tuple[sa.Table, list[dict]]] = []
        for name, table in tables.items():
            if name not in manifest["tables"]:
                continue
            loaded, held = _load_table(connection, table, archive.extractfile(f"tables/{name}.jsonl"), later[name])
            if loaded != manifest["tables"][name]:
                raise BackupError(f"{name} : {loaded} lignes lues pour {manifest['tables'][name]} annoncées, "
                                  "l'archive est incomplète.")
            if held:
                fill.append((table, held))
            progress(f"{name}: {loaded} lignes")
        for table, held in fill:
            _fill_held(connection, table, held)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, tables.values())
    progress("schéma mis à jour vers cette version")
    upgrade(directory=migrations)
    files = _restore_files(path, uploads, Path(config["INSTANCE_PATH"]))
    progress(f"fichiers déposés : {files}")
    return manifest


# What makes an instance not empty: the migrations alone fill none of these (they do fill some tables,
# such as the shipped emission factors, which the restore replaces with the backup's).
OWN_DATA = ("user", "company", "territory", "listing")


def _holds_data(connection) -> bool:
    tables = {t.name: t for t in _tables(connection)}
    return any(connection.execute(sa.select(sa.literal(1)).select_from(tables[name]).limit(1)).first()
               for name in OWN_DATA if name in tables)


def _load_table(connection, table: sa.Table, stream, later: set[str]) -> tuple[int, list[dict]]:
    """Insert the rows; the columns in `later` (keys of a cycle) are inserted empty and returned with
    their row's primary key, to be filled by `_fill_held`."""
    decoders = {c.name: decoder(c.type) for c in table.columns}
    keys = [c.name for c in table.primary_key.columns]
    batch, held, count = [], [], 0
    for line in stream:
        raw = json.loads(line)
        row = {name: decoders[name](value) for name, value in raw.items() if name in decoders}
        values = {name: row[name] for name in later if row.get(name) is not None}
        if values:
            held.append({**{f"pk_{k}": row[k] for k in keys}, **{f"v_{k}": v for k, v in values.items()}})
            row.update({name: None for name in values})
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count, held


def _fill_held(connection, table: sa.Table, held: list[dict]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    for columns in {tuple(sorted(k[2:] for k in row if k.startswith("v_"))) for row in held}:
        rows = [row for row in held if tuple(sorted(k[2:] for k in row if k.startswith("v_"))) == columns]
        statement = (table.update()
                     .where(*(table.c[k] == sa.bindparam(f"pk_{k}") for k in keys))
                     .values({c: sa.bindparam(f"v_{c}") for c in columns}))
        connection.execute(statement, rows)


def _reset_sequences(connection, tables) -> None:
    """PostgreSQL: the next id of each table follows the restored rows."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": table.name, "c": column.name}).scalar()
            if sequence:
                connection.execute(sa.text(
                    f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                    {"s": sequence})


def _restore_files(path: Path, uploads: Path, instance: Path) -> int:
    count = 0
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            if member.name.startswith("uploads/"):
                relative = Path(member.name[len("uploads/"):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise BackupError(f"Chemin refusé dans l'archive : {member.name}")
                target = uploads / relative
                count += 1
            elif member.name in ("secret_key", "settings.env"):
                target = instance / ("secret_key" if member.name == "secret_key" else "restored-settings.env")
            else:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            if member.name == "secret_key":
                target.chmod(0o600)
    return count
