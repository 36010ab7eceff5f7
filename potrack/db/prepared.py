"""Server-side prepared statements for the ledger's hot path on PostgreSQL.

The two statements of a recorded movement are CTEs over five tables; PostgreSQL spent more time
planning them than running them (bench/record.py: 1.5 ms per movement planned each time, 1.0 ms
prepared). Each is compiled once by SQLAlchemy into `PREPARE name AS …`, prepared on a connection the
first time that connection runs it, and then run with `EXECUTE name (…)` on the DBAPI cursor, with
SQLAlchemy's error wrapping (a dropped connection is still recognized and the write retried) but
without its per-statement compiling, parameter processing and result objects. A prepared statement
belongs to the server session, not to a transaction: a rollback keeps it, a new connection prepares
it again. (Behind a transaction-pooling pgbouncer they would not survive; see INVALID_STATEMENT_NAME.)
"""

from __future__ import annotations

from collections import namedtuple
from operator import itemgetter
from typing import Any

from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from potrack.db.dbapi import run_on_cursor
from potrack.db.engine import COMMIT_SENT, COMMITTED, RetryableWrite

INVALID_STATEMENT_NAME = '26000'  # e.g. after DISCARD ALL by a connection pooler in between
PREPARED_KEY = 'potrack_prepared'  # connection.info: names prepared on this DBAPI connection
_DIALECT = PGDialect_psycopg2(paramstyle='numeric_dollar')


class Prepared:
    """One statement, prepared per connection and run by name; rows come back as named tuples."""

    def __init__(self, name: str, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.name = name
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values fixed in the statement (literals) are parameters too; the caller supplies the rest.
        self._fixed = {name: b.value for b, name in compiled.bind_names.items() if not b.required}
        self._getter = itemgetter(*self.names) if self.names else None  # the values in order, picked in C
        self.prepare_sql = f'PREPARE {name} AS {compiled.string}'
        values = f' ({", ".join(["%s"] * len(self.names))})' if self.names else ''
        self.execute_sql = f'EXECUTE {name}{values}'
        self.Row = namedtuple(f'{name}_row', list(statement.selected_columns.keys()), rename=True)  # type: ignore[misc]

    def values_of(self, params: dict[str, Any]) -> tuple[Any, ...]:
        """The statement's values in its order: the caller's, and its literals. KeyError for a missing one."""
        if self._getter is None:
            return ()
        got = self._getter({**self._fixed, **params})
        return got if len(self.names) > 1 else (got,)

    def first(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Run on `conn` (inside its transaction); the first row or None. KeyError for a missing parameter."""
        row = self._run(conn, self.execute_sql, params)
        return None if row is None else self.Row(*row)

    def run_and_commit(self, conn: Connection, params: dict[str, Any]) -> None:
        """Run on `conn` and COMMIT its transaction in the same round trip (a connection of
        Database.write_core on PostgreSQL). Its rows are not read: the answer to several statements
        sent at once is the last one's, COMMIT's. Should the statement fail, the COMMIT is not run."""
        self._run(conn, self.execute_sql + '; COMMIT', params, commit=True)
        conn.info[COMMITTED] = True

    def _run(
        self, conn: Connection, sql: str, params: dict[str, Any], *, commit: bool = False
    ) -> tuple[Any, ...] | None:
        prepared = conn.connection.info.setdefault(PREPARED_KEY, set())
        if self.name not in prepared:
            run_on_cursor(conn, self.prepare_sql, ())
            prepared.add(self.name)
        values = self.values_of(params)
        if commit:
            conn.info[COMMIT_SENT] = True  # from here a broken connection leaves the outcome in doubt
        try:
            return run_on_cursor(conn, sql, values)
        except DBAPIError as exc:
            if getattr(exc.orig, 'pgcode', None) != INVALID_STATEMENT_NAME:
                raise
            prepared.clear()  # the server forgot them: prepare again, in a fresh transaction
            raise RetryableWrite from exc
