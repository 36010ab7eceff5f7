"""The engine and the one place sessions and transactions are made.

`Database.read()` gives a session for queries; `Database.write(fn)` runs `fn(session)` as one write
transaction, retried whole on serialization failures, deadlocks and lock timeouts.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg2.extensions
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from potrack.config import Settings, normalize_database_url, settings
from potrack.db.causes import driver_reason
from potrack.db.dbapi import execute_on_cursor, run_on_cursor
from potrack.errors import NotSaved, OutcomeUnknown
from potrack.i18n import N_

log = logging.getLogger(__name__)
T = TypeVar('T')

# SQLSTATEs worth retrying: serialization failure, deadlock, lock not available (lock_timeout).
RETRYABLE_PG_CODES = frozenset({'40001', '40P01', '55P03'})
NOT_SAVED_MESSAGE = N_('Not saved — the database did not answer. Nothing was recorded; try again.')
TOO_BUSY_MESSAGE = N_('Not saved — the database was too busy. Nothing was recorded; try again.')


class RetryableWrite(Exception):
    """Raised inside a write to ask for the whole unit to run again (e.g. a lost insert race)."""


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, 'pgcode', None)
    if code in RETRYABLE_PG_CODES:
        return True
    return isinstance(orig, sqlite3.OperationalError) and 'locked' in str(orig).lower()


_BEGIN_WRITE, _BEGIN_READ = 'BEGIN IMMEDIATE', 'BEGIN DEFERRED'


def _sqlite_engine(url: str, cfg: Settings, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ':memory:':
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={'check_same_thread': False, 'timeout': cfg.sqlite_busy_timeout_ms / 1000},
        poolclass=NullPool if not database or database == ':memory:' else None,
    )

    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN below is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute('PRAGMA journal_mode=WAL')
        cur.execute(f'PRAGMA busy_timeout={int(cfg.sqlite_busy_timeout_ms)}')
        cur.execute('PRAGMA foreign_keys=ON')
        cur.execute(f'PRAGMA synchronous={cfg.sqlite_synchronous}')  # FULL unless the site chose NORMAL (config)
        cur.close()

    @event.listens_for(engine, 'begin')
    def _on_begin(conn: Any) -> None:
        # A write takes SQLite's single write lock up front, so two writers queue instead of one
        # failing half-way with "database is locked" after it has read a stale balance.
        # On the cursor: exec_driver_sql's result objects cost a tenth of a recorded movement (bench/record.py).
        execute_on_cursor(conn, _BEGIN_WRITE if conn.get_execution_options().get('potrack_write') else _BEGIN_READ, ())

    return engine


def _postgres_engine(
    url: str, cfg: Settings, echo: bool, pool_size: int, *, pre_ping: bool = True, autocommit: bool = False
) -> Engine:
    # jit=off: potrack's queries are short, and PostgreSQL's JIT compiled the orders page's "late only" count for
    # 17 ms to run it in 8 (bench/orders_page.py at 1,000,000 movements); no query here runs long enough to gain.
    options = (
        f'-c lock_timeout={cfg.lock_timeout_ms} -c statement_timeout={cfg.statement_timeout_ms} '
        f'-c idle_in_transaction_session_timeout={cfg.idle_in_transaction_timeout_ms} -c jit=off'
    )
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=pre_ping,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        connect_args={'options': options, 'application_name': 'potrack', 'connect_timeout': 5},
        **({'isolation_level': 'AUTOCOMMIT'} if autocommit else {}),
    )


STATEMENTS_SENT = 'potrack_statements_sent'
COMMIT_SENT = 'potrack_commit_sent'  # connection.info: a COMMIT is on its way (Prepared.run_and_commit)
BACKEND_END_TIMEOUT_S = 5.0  # how long an in-doubt commit waits for the broken connection's server process
_BACKEND_ALIVE = text('SELECT 1 FROM pg_stat_activity WHERE pid = :pid')


def _backend_pid(conn: Any) -> int | None:
    """The server process of a PostgreSQL connection (libpq knows it: no round trip); None on SQLite."""
    info = getattr(conn.connection.dbapi_connection, 'info', None)
    return getattr(info, 'backend_pid', None)


def _track_statements(engine: Engine) -> None:
    """Mark a checked-out connection once a statement succeeded on it, so `write` can tell a stale one."""

    @event.listens_for(engine, 'after_cursor_execute')
    def _sent(conn: Any, *_args: Any) -> None:
        conn.info[STATEMENTS_SENT] = True

    @event.listens_for(engine.pool, 'checkout')
    def _fresh(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        record.info[STATEMENTS_SENT] = False
        record.info[COMMIT_SENT] = False


BEGIN_PENDING = 'potrack_begin_pending'  # connection.info: the explicit transaction's BEGIN is not sent yet
COMMITTED = 'potrack_committed'  # connection.info: the COMMIT went with the last statement (Prepared)
IN_DOUBT_MESSAGE = (
    'It may or may not be saved: the connection broke while it was being saved. Look before you do it again.'
)


def _explicit_transactions(engine: Engine) -> None:
    """The ledger's PostgreSQL engine runs in autocommit and says BEGIN itself, in its first statement.

    psycopg2 sends its own BEGIN as a round trip of its own before a transaction's first statement: a
    quarter of the ledger's round trips. Here "BEGIN;" rides along with the first statement instead,
    and COMMIT / ROLLBACK are sent by `Database._ledger_transaction`. A connection handed back to the
    pool still inside a transaction (a bug, or an error between BEGIN and ROLLBACK) is rolled back.
    """

    @event.listens_for(engine, 'before_cursor_execute', retval=True)
    def _begin_with_first(conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> tuple[str, Any]:
        if conn.info.pop(BEGIN_PENDING, False):
            statement = 'BEGIN; ' + statement
        return statement, parameters

    @event.listens_for(engine, 'reset')
    def _never_inside_a_transaction(dbapi_conn: Any, _record: Any, _state: Any) -> None:
        if dbapi_conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            with dbapi_conn.cursor() as cur:
                cur.execute('ROLLBACK')


class Database:
    """One database: its engine, read sessions and retried write transactions."""

    def __init__(
        self, url: str | None = None, *, cfg: Settings | None = None, echo: bool = False, pool_size: int = 10
    ) -> None:
        self.cfg = cfg or settings()
        self.url = normalize_database_url(url or self.cfg.database_url)
        if self.url.startswith('sqlite'):
            self.engine = _sqlite_engine(self.url, self.cfg, echo)
            self._write_engine = self.engine.execution_options(potrack_write=True)
            self._ledger_engine = self._write_engine
            # The ledger's one connection: SQLite writes one transaction at a time whatever the pool holds, and
            # a pooled checkout and return cost a tenth of a recorded movement (bench/record.py).
            self._ledger_lock = threading.Lock()
            self._ledger_owner = threading.local()
            self._ledger_conn: Connection | None = None
            self._snapshot_engine = self.engine
        else:
            self.engine = _postgres_engine(self.url, self.cfg, echo, pool_size)
            # Writes skip the pre-ping round trip (a fifth of a kiosk entry's cost): a stale pooled
            # connection shows up at the unit's first statement instead, and `write` runs it again.
            self._write_engine = _postgres_engine(self.url, self.cfg, echo, pool_size, pre_ping=False)
            _track_statements(self._write_engine)
            self._ledger_engine = _postgres_engine(self.url, self.cfg, echo, pool_size, pre_ping=False, autocommit=True)
            _track_statements(self._ledger_engine)
            _explicit_transactions(self._ledger_engine)
            # Reads of several statements that must agree with each other (search rows and their totals):
            # one snapshot for the whole transaction, taken at its first statement.
            self._snapshot_engine = self.engine.execution_options(isolation_level='REPEATABLE READ')

    @property
    def write_engine(self) -> Engine:
        """The engine write transactions run on (PostgreSQL: its own pool, without pre-ping)."""
        return self._write_engine

    @property
    def ledger_engine(self) -> Engine:
        """The engine `write_core` runs on (PostgreSQL: autocommit, explicit BEGIN with the first statement)."""
        return self._ledger_engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == 'postgresql'

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Session]:
        """A session for reading; database failures become NotSaved-style errors for the caller.

        `snapshot`: every statement of the session sees the database as of its first one (PostgreSQL's
        REPEATABLE READ; a read-only transaction never fails for it). SQLite's reads have it already: each
        runs in a transaction (BEGIN on the first statement), which in WAL mode sees one snapshot.
        """
        try:
            with Session(self._snapshot_engine if snapshot else self.engine, expire_on_commit=False) as session:
                yield session
        except DBAPIError as exc:
            log.warning('database read failed: %s', exc.orig)
            raise NotSaved(N_('The database did not answer. Try again in a moment.'), params={}) from exc

    def write(self, unit: Callable[[Session], T], *, attempts: int | None = None) -> T:
        """Run `unit(session)` as one transaction and commit it; retry it whole on transient failures.

        Raises NotSaved when the database is unreachable or keeps failing; domain errors raised by
        `unit` roll the transaction back and pass through unchanged.
        """
        return self._retried(lambda: Session(self._write_engine, expire_on_commit=False), unit, attempts)

    def write_core(self, unit: Callable[[Connection], T], *, attempts: int | None = None) -> T:
        """`write` for a unit of Core statements: a Connection, without the ORM Session around it.

        For the ledger's hot path, where the Session's bookkeeping cost a fifth of a movement's client CPU.
        On PostgreSQL the transaction is explicit (see _explicit_transactions): one round trip fewer.
        """
        return self._retried(self._ledger_transaction if self.is_postgres else self._sqlite_ledger, unit, attempts)

    @contextmanager
    def _sqlite_ledger(self) -> Iterator[Connection]:
        """SQLite: the ledger's connection, kept open between writes and lent to one at a time.

        A writer waits for it as long as SQLite's busy timeout would have let it wait for the write lock over
        its attempts, then is told the database is too busy. A write that fails leaves the connection outside
        any transaction, or throws it away (the next write opens another): after a failed COMMIT SQLAlchemy
        has ended its transaction but sqlite3 is still in it, holding the write lock for every other writer.
        """
        if getattr(self._ledger_owner, 'writing', False):  # a write inside a write would wait for itself
            raise RuntimeError('a ledger write was started inside another on the same thread')
        wait_s = self.cfg.sqlite_busy_timeout_ms / 1000 * self.cfg.write_attempts
        if not self._ledger_lock.acquire(timeout=wait_s):
            raise NotSaved(TOO_BUSY_MESSAGE, params={})
        self._ledger_owner.writing = True
        try:
            conn = self._ledger_conn
            if conn is None or conn.closed or conn.invalidated:
                conn = self._ledger_conn = self._write_engine.connect()
            try:
                yield conn
            except BaseException:
                self._end_failed_write(conn)
                raise
            if conn.in_transaction():  # never: _retried commits; kept outside a transaction whatever comes
                self._end_failed_write(conn)
        finally:
            self._ledger_owner.writing = False
            self._ledger_lock.release()

    def _end_failed_write(self, conn: Connection) -> None:
        """Roll the ledger connection's transaction back; throw the connection away if that leaves sqlite3 in a
        transaction still (a failed COMMIT) or fails itself."""
        try:
            if not conn.invalidated:
                if conn.get_transaction() is not None:
                    conn.rollback()
                if not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                    return
        except Exception:  # whatever went wrong, the connection is given up below
            log.warning('the ledger connection could not be rolled back; opening another', exc_info=True)
        with contextlib.suppress(Exception):
            conn.invalidate()  # closes the sqlite3 connection: SQLite rolls its transaction back and unlocks
        self._ledger_conn = None

    @contextmanager
    def _ledger_transaction(self) -> Iterator[Connection]:
        """A connection whose first statement begins a transaction; committed when the block ends normally."""
        with self._ledger_engine.connect() as conn:
            conn.info[BEGIN_PENDING] = True
            conn.info[COMMITTED] = False
            conn.info[COMMIT_SENT] = False
            try:
                yield conn
            except BaseException:
                # An invalidated connection is gone (and its info with it): the server ended the transaction.
                if not conn.invalidated and not conn.info.pop(BEGIN_PENDING, False) and not conn.info[COMMITTED]:
                    with contextlib.suppress(DBAPIError):
                        run_on_cursor(conn, 'ROLLBACK', ())
                raise
            # Nothing to commit when nothing was sent, or when the COMMIT went with the last statement.
            if not conn.info.pop(BEGIN_PENDING, False) and not conn.info[COMMITTED]:
                run_on_cursor(conn, 'COMMIT', ())  # the cursor directly: SQLAlchemy's execute costs more

    def _retried(self, begin: Callable[[], Any], unit: Callable[[Any], T], attempts: int | None) -> T:
        attempts = attempts or self.cfg.write_attempts
        for attempt in range(1, attempts + 1):
            info: dict[Any, Any] = {}
            backend_pid: int | None = None
            committing = False
            try:
                with begin() as handle:  # a Session or a Connection: both commit, and roll back on close
                    conn = handle.connection() if isinstance(handle, Session) else handle
                    info, backend_pid = conn.info, _backend_pid(conn)
                    result = unit(handle)
                    committing = True  # the commit, and the context's COMMIT on leaving it
                    handle.commit()
                    return result
            except RetryableWrite:
                pass
            except IntegrityError:
                raise
            except DBAPIError as exc:
                if exc.connection_invalidated and (committing or info.get(COMMIT_SENT)):
                    # The COMMIT may have reached the server and been carried out: only a look at the
                    # database can tell (the caller's, which knows what to look for), never a retry here.
                    log.warning('the connection broke during a commit: %s', str(exc.orig).strip())
                    raise OutcomeUnknown(IN_DOUBT_MESSAGE, backend_pid=backend_pid) from exc
                if exc.connection_invalidated and not info.get(STATEMENTS_SENT) and attempt < attempts:
                    # A pooled connection the server had closed (restart, terminated backend) failed
                    # before anything was sent: nothing happened, so the unit runs on a fresh one.
                    log.info('write found a stale connection; retrying on a fresh one')
                    continue
                if exc.connection_invalidated or not _is_retryable(exc):
                    log.warning('write failed, nothing saved: %s', str(exc.orig).strip())
                    raise NotSaved(NOT_SAVED_MESSAGE, params={}) from exc
                log.info('write attempt %d/%d hit %s; retrying', attempt, attempts, type(exc.orig).__name__)
            if attempt < attempts:
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise NotSaved(TOO_BUSY_MESSAGE, params={})

    def backend_ended(self, backend_pid: int | None, *, timeout_s: float = BACKEND_END_TIMEOUT_S) -> bool:
        """PostgreSQL: True once the server process of a broken connection is gone, False if it outlives
        `timeout_s`. Until then its transaction may still commit, so a look-up would prove nothing.

        Raises DBAPIError when the database cannot be asked."""
        if backend_pid is None or not self.is_postgres:
            return True
        deadline = time.monotonic() + timeout_s
        with self.engine.connect() as conn:
            while conn.execute(_BACKEND_ALIVE, {'pid': backend_pid}).first() is not None:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
        return True

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return self.unreachable_cause() is None

    def unreachable_cause(self) -> str | None:
        """Why the database does not answer a trivial query, in one line; None when it answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql('SELECT 1')
            return None
        except DBAPIError as exc:
            return driver_reason(exc.orig)

    def dispose(self) -> None:
        if not self.is_postgres:
            with self._ledger_lock:
                if self._ledger_conn is not None:
                    self._ledger_conn.close()
                    self._ledger_conn = None
        self.engine.dispose()
        for other in {self._write_engine, self._ledger_engine} - {self.engine}:
            other.dispose()


_database: Database | None = None


def database() -> Database:
    """The database of this process, opened on first use from the settings."""
    global _database
    if _database is None:
        _database = Database()
    return _database


def use_database(db: Database | None) -> None:
    """Make `db` the database of this process (tests, the CLI); None forgets the current one."""
    global _database
    _database = db
