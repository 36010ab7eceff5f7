"""Running a statement on the DBAPI cursor of a SQLAlchemy Connection, for the ledger's hot path."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def run_on_cursor(conn: Connection, sql: str, values: tuple[Any, ...] | dict[str, Any]) -> tuple[Any, ...] | None:
    """Execute on the DBAPI cursor; errors wrapped and disconnects handled as SQLAlchemy's own execute does.

    SQLAlchemy's execute (even exec_driver_sql) builds a result object and its column metadata per
    statement; at two statements per movement that was a fifth of the client's CPU per movement.
    The engine's cursor events still fire when something listens (the write path's stale-connection
    check and the fault tests rely on them).
    """
    if not conn.in_transaction():  # SQLAlchemy begins on its own execute only; commit() must see ours
        conn.begin()
    return execute_on_cursor(conn, sql, values)


def execute_on_cursor(conn: Connection, sql: str, values: tuple[Any, ...] | dict[str, Any]) -> tuple[Any, ...] | None:
    """`run_on_cursor` without beginning a transaction first: for the statement that begins one itself."""
    dispatch = conn.dispatch
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for listener in dispatch.before_cursor_execute:  # each may rewrite the statement, as in SQLAlchemy
            sql, values = listener(conn, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        row = cursor.fetchone() if cursor.description else None
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
        return row
    except conn.dialect.loaded_dbapi.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, values, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=conn.dialect
        ) from exc
    finally:
        cursor.close()
