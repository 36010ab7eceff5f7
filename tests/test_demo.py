"""Demo data: the real write path and the bulk path on SQLite and PostgreSQL, and `potrack demo`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from potrack.accounts.security import verify_password
from potrack.cli import main
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database, use_database
from potrack.db.models import Department, User
from potrack.ledger import newest_first
from potrack.ledger.integrity import check_consistency
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ops.demo import orders
from potrack.ops.demo.loader import run_demo


def run(db: Database, movements: int, *, fast: bool | None, seed: int) -> list[str]:
    lines: list[str] = []
    run_demo(db, movements=movements, fast=fast, out=lines.append, seed=seed)
    return lines


def printed_operators(lines: list[str]) -> dict[str, tuple[str, str]]:
    """username → (password, department) from the table run_demo prints."""
    rows = {}
    header = next(line for line in lines if line.strip().startswith('username'))
    dept_at, wcs_at = header.index('department'), header.index('work centers')
    for line in lines:
        if line.startswith('  demo-'):
            cells = line.split()
            rows[cells[0]] = (cells[1], line[dept_at:wcs_at].strip())
    return rows


def scalar(db: Database, sql: str) -> object:
    with db.read() as s:
        return s.connection().execute(text(sql)).scalar()


def as_utc(value: object) -> datetime:
    if isinstance(value, str):  # SQLite via plain SQL: naive UTC text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def check_demo_data(db: Database, lines: list[str], movements: int) -> None:
    report = check_consistency(db)
    assert report.consistent, report.mismatches
    assert report.movements == movements
    assert scalar(db, 'SELECT COUNT(*) FROM order_balance WHERE qty_out < 0 OR qty_out > qty_in') == 0
    assert scalar(db, 'SELECT COUNT(*) FROM order_balance WHERE qty_out < qty_in') > 0, 'some work in progress'
    now = datetime.now(UTC)
    for column, table in [('created_at', 'production_order'), ('last_movement_at', 'order_balance')]:
        oldest = as_utc(scalar(db, f'SELECT MIN({column}) FROM {table}'))  # noqa: S608
        newest = as_utc(scalar(db, f'SELECT MAX({column}) FROM {table}'))  # noqa: S608
        assert now - timedelta(days=30) < oldest < newest <= now
    # Each balance row carries the time and user of its latest movement.
    assert (
        scalar(
            db,
            """SELECT COUNT(*) FROM order_balance b WHERE last_movement_at IS NULL OR last_movement_at <> (
                   SELECT MAX(created_at) FROM production_order p
                   WHERE p.work_center_id = b.work_center_id AND p.order_number = b.order_number)
               OR last_user_id NOT IN (
                   SELECT user_id FROM production_order p
                   WHERE p.work_center_id = b.work_center_id AND p.order_number = b.order_number
                     AND p.created_at = b.last_movement_at)""",
        )
        == 0
    )
    # Every movement was made by someone whose department sees that work center.
    assert (
        scalar(
            db,
            """SELECT COUNT(*) FROM production_order p JOIN "user" u ON u.id = p.user_id
               WHERE NOT u.is_admin AND NOT EXISTS (
                   SELECT 1 FROM workcenter_department wd
                   WHERE wd.department_id = u.department_id AND wd.work_center_id = p.work_center_id)""",
        )
        == 0
    )
    # Orders flow down the line: an order reaches a work center only after the previous one sent it on.
    assert (
        scalar(
            db,
            """SELECT COUNT(*) FROM (
                   SELECT a.order_number FROM production_order a JOIN production_order b
                     ON a.order_number = b.order_number AND b.work_center_id = a.work_center_id + 1
                   WHERE a.movement_type = 'OUT' AND b.movement_type = 'IN'
                   GROUP BY a.order_number, a.work_center_id HAVING MIN(b.created_at) <= MIN(a.created_at)
               ) AS early""",
        )
        == 0
    )
    # One demo operator per department, who can sign in with the password printed.
    operators = printed_operators(lines)
    with db.read() as s:
        departments = {d.id: d.name for d in s.exec(select(Department)).all()}
        users = {u.username: u for u in s.exec(select(User).where(User.username.startswith('demo-'))).all()}
    assert len(operators) == len(departments) == 6
    assert set(users) == set(operators)
    for name, (password, department) in operators.items():
        user = users[name]
        assert departments[user.department_id] == department
        assert user.full_name == f'Demo Operator ({department})'
        assert user.is_active and not user.is_admin and not user.must_change_password
        assert verify_password(password, user.password_hash)
    assert any(line.startswith('Administrator: admin / admin123') for line in lines)


def order_numbers(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.connection().execute(text('SELECT DISTINCT order_number FROM production_order')).scalars())


def test_real_path_then_bulk_path_adds_new_orders(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run(db, 200, fast=None, seed=11)
    assert any('through the ledger write path' in line for line in first)
    assert any('backdated 200 movements' in line for line in first)
    check_demo_data(db, first, 200)
    numbers = order_numbers(db)
    assert min(numbers).startswith(f'PO-{datetime.now(UTC).year}-0000')
    first_passwords = printed_operators(first)

    second = run(db, 2000, fast=True, seed=12)
    assert any('through bulk load' in line for line in second)
    check_demo_data(db, second, 2200)
    added = order_numbers(db) - numbers
    assert added and min(added) > max(numbers), 'the second run continues the numbering'
    with db.read() as s:
        hashes = dict(s.exec(select(User.username, User.password_hash)).all())
    for name, (old_password, _) in first_passwords.items():  # reset: only the new password works
        assert not verify_password(old_password, hashes[name])
    check_prefix_search(db, monkeypatch)


def test_bulk_load_into_orders_that_have_balances_recomputes_them(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk upsert's DO UPDATE path: (work center, order) pairs that had a balance row already."""
    first = run(db, 300, fast=True, seed=3)
    check_demo_data(db, first, 300)
    assert any(line.startswith('Consistency check: every balance equals') for line in first)
    before = order_numbers(db)
    monkeypatch.setattr(orders, '_next_order_number', lambda db, prefix: 1)  # reuse the same order numbers
    second = run(db, 700, fast=True, seed=4)
    assert before <= order_numbers(db)
    check_demo_data(db, first + second, 1000)


def test_no_movements_only_makes_the_operators(db: Database) -> None:
    lines = run(db, 0, fast=None, seed=1)
    assert len(printed_operators(lines)) == 6
    assert check_consistency(db).movements == 0


def test_cli_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f'sqlite:///{tmp_path / "cli.db"}'
    monkeypatch.setenv('DATABASE_URL', url)
    monkeypatch.setenv('POTRACK_DATA_DIR', str(tmp_path))
    try:
        assert main(['demo', '--movements', '50']) == 0
    finally:
        use_database(None)
        monkeypatch.undo()
        reset_settings()
    lines = capsys.readouterr().out.splitlines()
    db = Database(url)
    try:
        check_demo_data(db, lines, 50)
    finally:
        db.dispose()


def check_prefix_search(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """search_movements' newest-first shortcut for prefixes (newest_first.newest_first_bound) changes no result.

    With a probe of 100 rows most prefixes take the bound from order_balance; with 2000 (about all the
    movements here) the probe finds enough and the plain walk runs.
    """
    with db.read() as s:
        admin = Actor(s.exec(select(User.id).where(User.username == 'admin')).one())
        numbers = sorted(s.connection().execute(text('SELECT DISTINCT order_number FROM production_order')).scalars())
    old, recent = numbers[len(numbers) // 4], numbers[-1]
    today = datetime.now(UTC).date()
    filters = [MovementFilter(order=p) for p in (old, old[:-1], old[:-2], recent, recent[:-1], 'PO-', 'QQ')]
    filters += [MovementFilter(order=old[:-1], date_from=today - timedelta(days=40), date_to=today)]
    filters += [MovementFilter(order=old[:-2], movement_type='OUT'), MovementFilter(order='PO-', work_center_ids=(5,))]
    for flt in filters:
        where = ' AND '.join(
            [f"order_number LIKE '{flt.order}%'"]
            + ([f"movement_type = '{flt.movement_type}'"] if flt.movement_type else [])
            + ([f'work_center_id IN ({",".join(map(str, flt.work_center_ids))})'] if flt.work_center_ids else [])
        )
        with db.read() as s:
            expected = list(
                s.connection()
                .execute(text(f'SELECT id FROM production_order WHERE {where} ORDER BY created_at DESC, id DESC'))  # noqa: S608
                .scalars()
            )
        for limit, probe_rows in [(5, 2000), (50, 100), (50, 2000)]:
            monkeypatch.setattr(newest_first, 'RECENT_PROBE_ROWS', probe_rows)
            page = search_movements(admin, flt, limit=limit, db=db)
            assert [r.id for r in page.rows] == expected[:limit], (flt, limit, probe_rows)
            assert page.totals.count == len(expected), flt
