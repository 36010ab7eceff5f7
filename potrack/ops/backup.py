"""Backups and restores of the whole database: `potrack backup` and `potrack restore`.

SQLite: the online backup API copies a consistent snapshot while the app keeps running (WAL included).
PostgreSQL: `pg_dump` in its custom format (compressed, one consistent snapshot, restorable selectively)
and `pg_restore --clean --if-exists --no-owner` in one transaction. The server's credentials go to the
tools through PG* environment variables, never on a command line other users can read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from potrack.db.engine import Database
from potrack.errors import PotrackError
from potrack.ledger.integrity import CheckReport, check_consistency
from potrack.ops.upgrade import upgrade

# The tables whose row counts a backup and a restore report (and compare), in a readable order.
COUNTED_TABLES = (
    'production_order',
    'order_balance',
    'order_activity',
    'user',
    'department',
    'work_center',
    'workcenter_department',
    'audit_event',
    'user_session',
    'api_token',
)
# Tables whose rows make a database "in use": a restore will not overwrite them without --force.
DATA_TABLES = ('production_order', 'user', 'work_center', 'department')
SQLITE_MAGIC = b'SQLite format 3\x00'
PG_CUSTOM_MAGIC = b'PGDMP'
TOOL_TIMEOUT_S = 6 * 3600


class BackupError(PotrackError):
    """A backup or restore could not be made; nothing was changed (or the restore was rolled back)."""


@dataclass(frozen=True)
class RestoreResult:
    counts: dict[str, int]
    check: CheckReport


def table_counts(db: Database) -> dict[str, int]:
    """Rows per counted table that exists (a table missing from an older schema is left out)."""
    with db.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        quote = conn.dialect.identifier_preparer.quote
        return {
            t: int(conn.execute(text(f'SELECT COUNT(*) FROM {quote(t)}')).scalar_one())  # noqa: S608  (fixed names)
            for t in COUNTED_TABLES
            if t in present
        }


def has_data(db: Database) -> bool:
    counts = table_counts(db)
    return any(counts.get(t, 0) for t in DATA_TABLES)


def backup(db: Database, out: Path) -> dict[str, int]:
    """Write a backup of `db` to `out` (replaced only once the new file is complete); returns row counts."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + '.partial')
    partial.unlink(missing_ok=True)
    try:
        if db.is_postgres:
            _run(['pg_dump', '--format=custom', '--no-password', f'--file={partial}'], db)
        else:
            _sqlite_copy(_sqlite_path(db), partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return table_counts(db)


def restore(db: Database, source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the contents of `db` with the backup in `source`, migrate it, then count and check the ledger.

    Raises BackupError: unreadable or foreign file, a database that has data (without `force`), a tool failure.
    """
    if not source.is_file():
        raise BackupError(f'There is no backup file {source}.')
    with source.open('rb') as f:
        head = f.read(len(SQLITE_MAGIC))
    expected = PG_CUSTOM_MAGIC if db.is_postgres else SQLITE_MAGIC
    if not head.startswith(expected):
        kind = 'a pg_dump custom-format file' if db.is_postgres else 'an SQLite database file'
        raise BackupError(f'{source} is not {kind}; a backup restores only into the kind of database it came from.')
    if not force and has_data(db):
        raise BackupError(
            'The target database already has data; restoring would replace all of it. '
            'Stop potrack, then repeat with --force if that is what you want.'
        )
    if db.is_postgres:
        args = ['pg_restore', '--clean', '--if-exists', '--no-owner', '--single-transaction', '--no-password']
        _run([*args, f'--dbname={make_url(db.url).database}', str(source)], db)
    else:
        db.dispose()  # no pooled connection may hold the file while its pages are replaced
        _sqlite_copy(source, _sqlite_path(db))
    db.dispose()
    upgrade(db)  # a backup made by an earlier potrack: its schema brought up to date, as a start would
    return RestoreResult(table_counts(db), check_consistency(db))


def _sqlite_path(db: Database) -> Path:
    name = make_url(db.url).database
    if not name or name == ':memory:':
        raise BackupError('An in-memory SQLite database cannot be backed up or restored.')
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f'file:{source}?mode=ro', uri=True)
        try:
            if src.execute('PRAGMA quick_check').fetchone() != ('ok',):
                raise BackupError(f'{source} is damaged (SQLite quick_check failed); nothing was copied.')
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # page by page, a consistent snapshot even while others write
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f'SQLite could not copy {source} to {target}: {exc}') from exc


def _pg_env(db: Database) -> dict[str, str]:
    url = make_url(db.url)
    env = dict(os.environ)
    parts = {
        'PGHOST': url.host,
        'PGPORT': str(url.port) if url.port else None,
        'PGUSER': url.username,
        'PGPASSWORD': url.password,
        'PGDATABASE': url.database,
        'PGSSLMODE': url.query.get('sslmode') if isinstance(url.query.get('sslmode'), str) else None,
    }
    env.update({k: str(v) for k, v in parts.items() if v})
    return env


def _run(args: list[str], db: Database) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f'{args[0]} is not installed (Debian: apt install postgresql-client).')
    done = subprocess.run(
        [tool, *args[1:]], env=_pg_env(db), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f'{args[0]} failed: {" / ".join(detail[-3:]) or f"exit code {done.returncode}"}')
