"""Backups and restores of the whole database: `potrack backup` and `potrack restore`.

SQLite: the online backup API copies a consistent snapshot while the app keeps running (WAL included),
into one self-contained file (rollback journal, nothing beside it). A restore reads that file read-only
and immutable, so it writes nothing beside the backup and a backup on read-only media restores.
PostgreSQL: `pg_dump` in its custom format (compressed, one consistent snapshot, restorable selectively)
and `pg_restore --clean --if-exists --no-owner` in one transaction. The server's credentials go to the
tools through PG* environment variables, never on a command line other users can read.
A restore checks the backup before it touches the target, and one that fails leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from potrack import __version__
from potrack.db.engine import Database
from potrack.db.migrate import alembic_config
from potrack.errors import PotrackError
from potrack.ledger.integrity import CheckReport, check_consistency
from potrack.ops.upgrade import upgrade

# The tables whose row counts a backup and a restore report (and compare), in a readable order,
# with how their rows read in a sentence (one, many).
COUNTED_TABLES: dict[str, tuple[str, str]] = {
    'production_order': ('movement', 'movements'),
    'order_balance': ('balance', 'balances'),
    'order_activity': ('order with activity', 'orders with activity'),
    'order_header': ('order in the book', 'orders in the book'),
    'order_transit': ('transit row', 'transit rows'),
    'site_setting': ('site setting', 'site settings'),
    'flow_reason': ('scrap and rework reason', 'scrap and rework reasons'),
    'product_route': ('product route', 'product routes'),
    'user': ('user', 'users'),
    'department': ('department', 'departments'),
    'work_center': ('work center', 'work centers'),
    'workcenter_department': ('department-work center link', 'department-work center links'),
    'audit_event': ('audit event', 'audit events'),
    'user_session': ('session', 'sessions'),
    'api_token': ('API token', 'API tokens'),
    'kiosk_device': ('kiosk device', 'kiosk devices'),
    'kiosk_device_work_center': ('kiosk device-work center pin', 'kiosk device-work center pins'),
}
# Tables whose rows make a database "in use": a restore will not overwrite them without --force.
DATA_TABLES = ('production_order', 'user', 'work_center', 'department')
SQLITE_MAGIC = b'SQLite format 3\x00'
PG_CUSTOM_MAGIC = b'PGDMP'
TOOL_TIMEOUT_S = 6 * 3600
SQLITE_SIDE_FILES = ('-wal', '-shm', '-journal')


class BackupError(PotrackError):
    """A backup or restore could not be made; nothing was changed (or the restore was rolled back)."""


@dataclass(frozen=True)
class RestoreResult:
    counts: dict[str, int]
    check: CheckReport


def describe_counts(counts: Mapping[str, int]) -> str:
    """The row counts as a person reads them: '5,000 movements, 1 user, 6 departments'."""
    if not counts:
        return 'no potrack tables'
    return ', '.join(_counted(n, *COUNTED_TABLES.get(table, (table, table))) for table, n in counts.items())


def _counted(n: int, one: str, many: str) -> str:
    return f'{n:,} {one if n == 1 else many}'


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
    """Write a backup of `db` to `out` (replaced only once the new file is complete); returns row counts.

    Raises BackupError: `out` a folder or not writable, no SQLite file to back up, a damaged database,
    a tool failure.
    """
    out = out.resolve()
    if out.is_dir():
        raise BackupError(f'{out} is a folder; give the name of the backup file to write in it.')
    blocker = next((p for p in out.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise BackupError(f'Cannot write the backup {out}: {blocker} is a file, not a folder.')
    partial = out.with_name(out.name + '.partial')
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        if db.is_postgres:
            _run(['pg_dump', '--format=custom', '--no-password', f'--file={partial}'], db)
        else:
            _sqlite_backup(_sqlite_path(db), partial)
        os.replace(partial, out)
    except OSError as exc:
        raise BackupError(f'Cannot write the backup {out}: {exc.strerror or exc}.') from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return table_counts(db)


def restore(db: Database, source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the contents of `db` with the backup in `source`, migrate it, then count and check the ledger.

    The backup is checked (its kind, intact, a schema this potrack knows) before the target is touched.
    Raises BackupError: a missing, unreadable, damaged or foreign file, a backup of a newer potrack, a
    database that has data (without `force`), a tool failure; the target is then as it was.
    """
    _check_kind(source, postgres=db.is_postgres)
    if db.is_postgres:
        _check_revision(_pg_revision(source, db), source)
        _refuse_data(db, force)
        _restore_postgres(db, source)
    else:
        _restore_sqlite(db, source, force)
    db.dispose()
    upgrade(db)  # a backup made by an earlier potrack: its schema brought up to date, as a start would
    return RestoreResult(table_counts(db), check_consistency(db))


DROP_FOREIGN_KEYS = """DO $$ DECLARE r record; BEGIN
FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
         WHERE contype = 'f' AND connamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
END LOOP; END $$;"""


def _restore_postgres(db: Database, source: Path) -> None:
    """pg_restore's script run by psql in one transaction, after dropping the target's tables the backup
    does not have (made by later migrations).

    `pg_restore --clean` drops only what the archive holds: a newer table left behind keeps its foreign
    keys to the tables being replaced, and their drop fails ("constraint ... depends on index user_pkey");
    so does a newer foreign key of an archived table (production_order's to work_center, 0007). So every
    foreign key goes first: the script makes the archive's again, the migrations after the restore the
    later ones, as they make the later tables. One transaction: a failure leaves the target as it was.
    """
    archived = _archive_tables(source, db)
    with db.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        quote = conn.dialect.identifier_preparer.quote
    extra = sorted(present - archived)
    drops = [f'DROP TABLE IF EXISTS {quote(t)} CASCADE;' for t in extra] + [DROP_FOREIGN_KEYS]
    # The script goes to a file first: psql reading a pipe would COMMIT what it got of a pg_restore that failed
    # half-way. It is about as large as the data, uncompressed, for the length of the restore.
    with tempfile.TemporaryDirectory(prefix='potrack-restore-') as folder:
        script = Path(folder) / 'restore.sql'
        _run(['pg_restore', '--clean', '--if-exists', '--no-owner', f'--file={script}', str(source)], db)
        apply = ['psql', '--no-psqlrc', '--quiet', '--single-transaction', '--no-password', '-v', 'ON_ERROR_STOP=1']
        _run([*apply, *(arg for drop in drops for arg in ('-c', drop)), '-f', str(script)], db)


def _archive_tables(source: Path, db: Database) -> set[str]:
    """The tables a pg_dump archive holds (its table of contents: `… TABLE public <name> <owner>`)."""
    names = set()
    for line in _run(['pg_restore', '--list', str(source)], db).splitlines():
        parts = line.split()
        if not line.startswith(';') and len(parts) >= 6 and parts[3] == 'TABLE' and parts[4] == 'public':
            names.add(parts[5])
    return names


def _check_kind(source: Path, *, postgres: bool) -> None:
    if source.is_dir():
        raise BackupError(f'{source} is a folder, not a backup file.')
    try:
        with source.open('rb') as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f'There is no backup file {source}.') from None
    except OSError as exc:
        raise BackupError(f'Cannot read the backup {source}: {exc.strerror or exc}.') from exc
    if not head.startswith(PG_CUSTOM_MAGIC if postgres else SQLITE_MAGIC):
        kind = 'a pg_dump custom-format file' if postgres else 'an SQLite database file'
        raise BackupError(f'{source} is not {kind}; a backup restores only into the kind of database it came from.')


def _check_revision(revision: str | None, source: Path) -> None:
    """Refuse what the upgrade after the copy would fail on, before the copy: a foreign or newer schema."""
    if revision is None:
        raise BackupError(f'{source} is not a potrack backup (it has no schema revision); nothing was restored.')
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision not in known:
        raise BackupError(
            f'{source} was made by a newer potrack (schema revision {revision}) than this one ({__version__}); '
            'nothing was restored.'
        )


def _refuse_data(db: Database, force: bool) -> None:
    if not force and has_data(db):
        raise BackupError(
            'The target database already has data; restoring would replace all of it. '
            'Stop potrack, then repeat with --force if that is what you want.'
        )


def _sqlite_path(db: Database) -> Path:
    name = make_url(db.url).database
    if not name or name == ':memory:':
        raise BackupError('An in-memory SQLite database cannot be backed up or restored.')
    return Path(name).resolve()


def _sqlite_backup(live: Path, partial: Path) -> None:
    if not live.is_file():
        raise BackupError(f'There is no database file {live} to back up.')
    try:
        with contextlib.closing(sqlite3.connect(f'{live.as_uri()}?mode=ro', uri=True)) as src:
            if src.execute('PRAGMA quick_check').fetchone() != ('ok',):
                raise BackupError(f'{live} is damaged (SQLite quick_check failed); nothing was copied.')
            with contextlib.closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)  # page by page, a consistent snapshot even while others write
                # One self-contained file: whoever opens it later needs no -wal or -shm beside it.
                dst.execute('PRAGMA journal_mode=DELETE')
    except sqlite3.DatabaseError as exc:
        raise BackupError(f'SQLite could not copy {live} to {partial}: {exc}') from exc


def _restore_sqlite(db: Database, source: Path, force: bool) -> None:
    target = _sqlite_path(db)
    existed = target.exists()
    try:
        with _read_backup(source) as src:
            _refuse_data(db, force)
            db.dispose()  # no pooled connection may hold the file while its pages are replaced
            try:
                with contextlib.closing(sqlite3.connect(target)) as dst:
                    src.backup(dst)  # one transaction on the target: a failure rolls it back
            except sqlite3.DatabaseError as exc:
                raise BackupError(f'SQLite could not restore {source} into {target}: {exc}') from exc
    except BaseException:
        if not existed:  # checking the target for data created the file: a failed restore leaves none
            db.dispose()
            for path in (target, *(target.with_name(target.name + s) for s in SQLITE_SIDE_FILES)):
                path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _read_backup(source: Path) -> Iterator[sqlite3.Connection]:
    """The SQLite backup, open read-only, checked intact and of a schema this potrack can upgrade."""
    wal = source.with_name(source.name + '-wal')
    # A finished backup never changes, so SQLite may skip its locks and the -shm file: nothing is
    # written beside it. Not when a -wal beside it holds pages (a copied live database): those count.
    immutable = not (wal.is_file() and wal.stat().st_size > 0)
    uri = f'{source.resolve().as_uri()}?mode=ro' + ('&immutable=1' if immutable else '')
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f'SQLite cannot open the backup {source}: {exc}.') from exc
    try:
        try:
            intact = conn.execute('PRAGMA quick_check').fetchone() == ('ok',)
            revision = _sqlite_revision(conn) if intact else None
        except sqlite3.DatabaseError as exc:
            raise BackupError(f'{source} is damaged ({exc}); nothing was restored.') from exc
        if not intact:
            raise BackupError(f'{source} is damaged (SQLite quick_check failed); nothing was restored.')
        _check_revision(revision, source)
        yield conn
    finally:
        conn.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute('SELECT version_num FROM alembic_version').fetchone()
    except sqlite3.OperationalError as exc:
        if 'no such table' in str(exc):
            return None  # an SQLite database, but not potrack's
        raise
    return str(row[0]) if row else None


def _pg_revision(source: Path, db: Database) -> str | None:
    """The schema revision inside a pg_dump file, read without a database (pg_restore prints its data)."""
    script = _run(['pg_restore', '--data-only', '--table=alembic_version', '--file=-', str(source)], db).splitlines()
    for n, line in enumerate(script[:-1]):
        if line.startswith('COPY ') and 'alembic_version' in line:
            value = script[n + 1].strip()
            return None if value == '\\.' else value
    return None


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


def _run(args: list[str], db: Database) -> str:
    """Run a PostgreSQL client tool; its standard output. Raises BackupError when it fails."""
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f'{args[0]} is not installed (Debian: apt install postgresql-client).')
    done = subprocess.run(
        [tool, *args[1:]], env=_pg_env(db), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f'{args[0]} failed: {" / ".join(detail[-3:]) or f"exit code {done.returncode}"}')
    return done.stdout
