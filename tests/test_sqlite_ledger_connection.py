"""SQLite: the ledger's one connection, lent to one write at a time (db/engine.Database._sqlite_ledger)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection

from potrack.common.actors import Actor
from potrack.config import settings
from potrack.db import Database
from potrack.db.dbapi import run_on_cursor
from potrack.errors import InsufficientBalance, NotSaved
from potrack.ledger.writer import record_movement


def _file(db: Database) -> str:
    return str(db.engine.url.database)


def _other_writer_gets_the_lock(db: Database) -> bool:
    other = sqlite3.connect(_file(db), timeout=0.5, isolation_level=None)
    try:
        other.execute('BEGIN IMMEDIATE')
        other.execute('ROLLBACK')
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_a_failed_commit_releases_the_write_lock_and_the_next_write_is_saved(
    sqlite_db: Database, admin: Actor, wc
) -> None:
    # A deferred foreign key fails the COMMIT itself: SQLAlchemy ends its transaction, sqlite3 stays in it.
    def table(conn: Connection) -> None:
        run_on_cursor(
            conn, 'CREATE TABLE probe (wc INTEGER REFERENCES work_center (id) DEFERRABLE INITIALLY DEFERRED)', ()
        )

    sqlite_db.write_core(table)

    def orphan(conn: Connection) -> None:
        run_on_cursor(conn, 'INSERT INTO probe VALUES (999999)', ())

    with pytest.raises(Exception, match='FOREIGN KEY constraint failed'):
        sqlite_db.write_core(orphan)
    assert _other_writer_gets_the_lock(sqlite_db)
    saved = record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=3, movement_type='IN')
    assert saved.balance == 3


def test_a_refused_entry_leaves_the_connection_open_and_outside_a_transaction(
    sqlite_db: Database, admin: Actor, wc
) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-2', quantity=1, movement_type='IN')
    kept = sqlite_db._ledger_conn
    with pytest.raises(InsufficientBalance):
        record_movement(admin, work_center_id=wc('WC001'), order_number='PO-2', quantity=5, movement_type='OUT')
    assert sqlite_db._ledger_conn is kept
    assert kept is not None and not kept.in_transaction()
    assert _other_writer_gets_the_lock(sqlite_db)


def test_a_write_inside_a_write_is_refused_instead_of_waiting_for_itself(sqlite_db: Database) -> None:
    outcome: list[BaseException] = []

    def inner(conn: Connection) -> None:
        sqlite_db.write_core(lambda c: None)

    def run() -> None:
        try:
            sqlite_db.write_core(inner)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), 'the nested write waited for itself'
    assert isinstance(outcome[0], RuntimeError)


def test_a_writer_kept_waiting_too_long_is_told_the_database_is_too_busy(tmp_path: Path, sqlite_db: Database) -> None:
    cfg = dataclasses.replace(settings(), sqlite_busy_timeout_ms=100, write_attempts=2)
    db = Database(str(sqlite_db.engine.url), cfg=cfg)
    holding, release = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        holding.set()
        release.wait(10)

    holder = threading.Thread(target=db.write_core, args=(hold,), daemon=True)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with pytest.raises(NotSaved, match='too busy'):
            db.write_core(lambda c: None)
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(10)
        db.dispose()
