"""Statements of the SQLite write path compiled once and run on the DBAPI cursor.

SQLAlchemy's execute costs about as much client time per statement as SQLite takes to run one of the ledger's
small writes (its compiled-cache lookup, parameter processing and result object). The SQLite write path runs
four or five of them per movement; `CompiledSqlite` keeps what SQLAlchemy computed once (the SQL text with named
parameters, which sqlite3 reads from the caller's dict itself, and their bind processors, e.g. a timestamp's text
form) and runs the statement with `run_on_cursor`, as `Prepared` does on PostgreSQL.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection

from potrack.db.dbapi import run_on_cursor
from potrack.db.types import UTCDateTime

_DIALECT = SQLiteDialect_pysqlite(paramstyle='named')


class _StampText:
    """The timestamps' bind processor, remembering its last answer: a movement's one time goes into three
    statements (movement, balance, transit), and turning it into text each time cost a tenth of the write's
    client time."""

    def __init__(self, process: Any) -> None:
        self._process = process
        self._last: tuple[Any, Any] = (None, None)

    def __call__(self, value: Any) -> Any:
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] is value:  # the object itself, held here, so its identity cannot be reused
            return last[1]
        text = self._process(value)
        self._last = (value, text)
        return text


_STAMP = _StampText(UTCDateTime()._cached_bind_processor(_DIALECT))  # shared by every statement: the same text for all


def sqlite_stamp(value: Any) -> str:
    """A timestamp's text as SQLite stores it (what the write path's statements compare it with)."""
    return _STAMP(value)  # type: ignore[no-any-return]


class CompiledSqlite:
    """One statement for SQLite; `run` returns its first row as a plain tuple (or None), `first` as a named one."""

    def __init__(self, statement: Any, name: str = 'row') -> None:
        compiled = statement.compile(dialect=_DIALECT)
        columns = statement.exported_columns
        self.Row = namedtuple(name, list(columns.keys()), rename=True)  # type: ignore[misc]
        # What SQLAlchemy's result would do to each column read (e.g. a timestamp's text into an aware datetime).
        self._readers = [(i, c.type._cached_result_processor(_DIALECT, None)) for i, c in enumerate(columns)]
        self._readers = [(i, read) for i, read in self._readers if read is not None]
        self.sql = compiled.string
        processors = compiled._bind_processors  # name -> processor, for the typed parameters that need one
        # Values fixed in the statement (literals) are parameters too, processed once here; the caller supplies
        # the rest, by name.
        self._fixed = {name: b.value for b, name in compiled.bind_names.items() if not b.required}
        for name, value in self._fixed.items():
            if name in processors and value is not None:
                self._fixed[name] = processors[name](value)
        self._required = frozenset(compiled.bind_names.values()) - self._fixed.keys()
        self._processors = [
            (name, _STAMP if isinstance(compiled.binds[name].type, UTCDateTime) else process)
            for name, process in processors.items()
            if name in self._required
        ]

    def run(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run inside `conn`'s transaction. KeyError for a parameter the caller did not give."""
        if not self._required <= params.keys():
            raise KeyError(sorted(self._required - params.keys()))
        # sqlite3 takes the parameters by name from the dict (extra keys unread): none to put in order here.
        values = {**params, **self._fixed}
        for name, process in self._processors:
            value = values[name]
            if value is not None:
                values[name] = process(value)
        return run_on_cursor(conn, self.sql, values)

    def first(self, conn: Connection, params: dict[str, Any]) -> Any:
        """`run`, its row with the statement's column names (a SELECT's or a RETURNING's)."""
        row = self.run(conn, params)
        if row is None:
            return None
        if self._readers:
            values = list(row)
            for i, read in self._readers:
                values[i] = read(values[i])
            row = tuple(values)
        return self.Row(*row)
