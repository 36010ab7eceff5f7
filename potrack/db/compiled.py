"""Statements of the SQLite write path compiled once and run on the DBAPI cursor.

SQLAlchemy's execute costs about as much client time per statement as SQLite takes to run one of the ledger's
small writes (its compiled-cache lookup, parameter processing and result object). The SQLite write path runs
five or six of them per movement; `CompiledSqlite` keeps what SQLAlchemy computed once (the SQL text, the
order of the parameters and their bind processors, e.g. a timestamp's text form) and runs the statement with
`run_on_cursor`, as `Prepared` does on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection

from potrack.db.dbapi import run_on_cursor

_DIALECT = SQLiteDialect_pysqlite()


class CompiledSqlite:
    """One statement for SQLite; `run` returns its first row as a plain tuple (or None)."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors  # name -> processor, for the typed parameters that need one
        # Values fixed in the statement (literals) are parameters too; the caller supplies the rest.
        fixed = {name: b.value for b, name in compiled.bind_names.items() if not b.required}
        self._plan = [(name, processors.get(name), name in fixed, fixed.get(name)) for name in self.names]

    def run(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run inside `conn`'s transaction. KeyError for a parameter the caller did not give."""
        values = []
        for name, process, is_fixed, literal in self._plan:
            value = literal if is_fixed else params[name]
            values.append(process(value) if process is not None and value is not None else value)
        return run_on_cursor(conn, self.sql, tuple(values))
