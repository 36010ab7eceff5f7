"""Demo data: the real write path and the bulk path on SQLite and PostgreSQL, and `potrack demo`."""

from __future__ import annotations

import shutil
from collections import defaultdict
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
from potrack.ops.demo.flow import FlowMix
from potrack.ops.demo.loader import run_demo
from potrack.ops.provision import provision


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


def check_demo_data(db: Database, lines: list[str], movements: int, *, numbers_reused: bool = False) -> None:
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
    check_flow(db, planned=not numbers_reused)


def check_flow(db: Database, *, planned: bool = True) -> None:
    """The flow as the ledger keeps it, checked on its own (besides `potrack check`): receipts bounded by what
    was sent, every OUT's disposition where the route says, transit rows equal to their movements.
    `planned`: also that no order received more than planned (not when a test released its numbers twice)."""
    zero = [
        # A receipt at a later step of the route takes all its pieces out of transit ...
        """SELECT COUNT(*) FROM production_order p JOIN order_header h ON h.order_number = p.order_number
           JOIN work_center w ON w.id = p.work_center_id
           WHERE p.movement_type = 'IN' AND p.transit_qty <> p.quantity AND h.route NOT LIKE w.code || '>%'""",
        # ... and the first step receives no more than the order's pieces beyond what came back for rework.
        """SELECT COUNT(*) FROM (
               SELECT p.order_number FROM production_order p JOIN order_header h ON h.order_number = p.order_number
               JOIN work_center w ON w.id = p.work_center_id
               WHERE p.movement_type = 'IN' AND h.route LIKE w.code || '>%'
               GROUP BY p.order_number, h.planned_quantity HAVING SUM(p.quantity - p.transit_qty) > h.planned_quantity
           ) AS beyond"""
        if planned
        else 'SELECT 0',
        # Every OUT has a disposition; scrap and rework a reason of their kind, sent on and rework a transit.
        """SELECT COUNT(*) FROM production_order p LEFT JOIN flow_reason r ON r.id = p.reason_id
           WHERE p.movement_type = 'OUT' AND (p.disposition IS NULL
              OR (p.disposition <> 'sent' AND (r.kind IS NULL OR r.kind NOT IN (p.disposition, 'both')))
              OR (p.disposition = 'scrap' AND (p.to_work_center_id IS NOT NULL OR p.transit_qty <> 0))
              OR (p.disposition = 'rework' AND p.transit_qty <> p.quantity))""",
        # Sent on goes to the route's next step (none from the last), rework to the step before.
        """SELECT COUNT(*) FROM production_order p JOIN order_header h ON h.order_number = p.order_number
           JOIN work_center w ON w.id = p.work_center_id LEFT JOIN work_center t ON t.id = p.to_work_center_id
           WHERE p.movement_type = 'OUT' AND p.disposition <> 'scrap' AND CASE
               WHEN p.disposition = 'rework' THEN h.route NOT LIKE '%' || t.code || '>' || w.code || '%'
               WHEN t.id IS NULL THEN h.route NOT LIKE '%>' || w.code
               ELSE h.route NOT LIKE '%' || w.code || '>' || t.code || '%' OR p.transit_qty <> p.quantity END""",
        # Transit rows equal their movements; they wait exactly when pieces are on their way, since a time that
        # is one of the sends.
        """SELECT COUNT(*) FROM order_transit r WHERE r.qty_sent <> r.qty_opening + COALESCE((
               SELECT SUM(p.transit_qty) FROM production_order p WHERE p.movement_type = 'OUT'
               AND p.to_work_center_id = r.work_center_id AND p.order_number = r.order_number), 0)
           OR r.qty_received <> COALESCE((
               SELECT SUM(p.transit_qty) FROM production_order p WHERE p.movement_type = 'IN'
               AND p.work_center_id = r.work_center_id AND p.order_number = r.order_number), 0)
           OR (r.pending_since IS NULL) <> (r.qty_sent = r.qty_received)
           OR r.pending_since > r.last_sent_at
           OR r.last_sent_at <> (SELECT MAX(p.created_at) FROM production_order p WHERE p.movement_type = 'OUT'
               AND p.to_work_center_id = r.work_center_id AND p.order_number = r.order_number)
           OR (r.pending_since IS NOT NULL AND NOT EXISTS (SELECT 1 FROM production_order p
               WHERE p.movement_type = 'OUT' AND p.to_work_center_id = r.work_center_id
               AND p.order_number = r.order_number AND p.created_at = r.pending_since))""",
        # Scrap and rework on the balance rows equal their movements.
        """SELECT COUNT(*) FROM order_balance b WHERE b.qty_scrap <> COALESCE((SELECT SUM(p.quantity)
               FROM production_order p WHERE p.disposition = 'scrap' AND p.work_center_id = b.work_center_id
               AND p.order_number = b.order_number), 0)
           OR b.qty_rework <> COALESCE((SELECT SUM(p.quantity) FROM production_order p
               WHERE p.disposition = 'rework' AND p.work_center_id = b.work_center_id
               AND p.order_number = b.order_number), 0)""",
    ]
    for sql in zero:
        assert scalar(db, sql) == 0, sql
    if scalar(db, 'SELECT COUNT(*) FROM order_transit'):
        oldest, newest = (as_utc(scalar(db, f'SELECT {f}(last_sent_at) FROM order_transit')) for f in ('MIN', 'MAX'))  # noqa: S608
        assert datetime.now(UTC) - timedelta(days=30) < oldest <= newest <= datetime.now(UTC)


def flow_counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        query = text(
            "SELECT disposition, COUNT(*) FROM production_order WHERE movement_type = 'OUT' GROUP BY disposition"
        )
        return {d: int(n) for d, n in s.connection().execute(query)}


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
    assert any(line.startswith('Consistency check: every balance and transit row equals') for line in first)
    before = order_numbers(db)
    monkeypatch.setattr(orders, '_next_order_number', lambda db, prefix: 1)  # reuse the same order numbers
    second = run(db, 700, fast=True, seed=4)
    assert before <= order_numbers(db)
    check_demo_data(db, first + second, 1000, numbers_reused=True)


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
    """search_movements' newest-first shortcut for prefixes (newest_first.newest_first_plan) changes no result.

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


def flow_of(db: Database) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Movements (by id), balance rows and transit rows as neutral tuples: codes, not ids."""
    with db.read() as s:
        conn = s.connection()
        movements = conn.execute(
            text(
                """SELECT p.order_number, w.code, p.movement_type, p.quantity, p.disposition, r.code, t.code,
                          p.transit_qty
                   FROM production_order p JOIN work_center w ON w.id = p.work_center_id
                   LEFT JOIN work_center t ON t.id = p.to_work_center_id LEFT JOIN flow_reason r ON r.id = p.reason_id
                   ORDER BY p.id"""
            )
        ).all()
        balances = conn.execute(
            text(
                """SELECT b.order_number, w.code, b.qty_in, b.qty_out, b.qty_scrap, b.qty_rework
                   FROM order_balance b JOIN work_center w ON w.id = b.work_center_id ORDER BY 1, 2"""
            )
        ).all()
        newest = as_utc(conn.execute(text('SELECT MAX(created_at) FROM production_order')).scalar())
        transit = []
        for order, code, sent, received, since, last, sender in conn.execute(
            text(
                """SELECT r.order_number, w.code, r.qty_sent, r.qty_received, r.pending_since, r.last_sent_at, f.code
                   FROM order_transit r JOIN work_center w ON w.id = r.work_center_id
                   LEFT JOIN work_center f ON f.id = r.last_from_id ORDER BY 1, 2"""
            )
        ):
            # On the plan's clock, which each run anchors to its own "a few minutes ago".
            ago = [None if t is None else round((newest - as_utc(t)).total_seconds()) for t in (since, last)]
            transit.append((order, code, sent, received, *ago, sender))
    return [tuple(m) for m in movements], [tuple(b) for b in balances], transit


def test_the_bulk_path_writes_the_flow_the_ledger_writes(db: Database, sqlite_template: Path, tmp_path: Path) -> None:
    """Every receipt of the real path goes through the ledger's bounds (an IN above what was sent is refused),
    with a little scrap and now and then a few pieces back one step for rework. The same plan bulk-loaded
    gives the same dispositions, reasons, transit quantities, balances and transit rows (times on the plan's
    clock)."""
    check_demo_data(db, run(db, 1500, fast=False, seed=33), 1500)
    counts = flow_counts(db)
    assert counts['scrap'] and counts['rework'] and counts['sent'] > 20 * (counts['scrap'] + counts['rework'])
    path = tmp_path / 'bulk.db'
    shutil.copy(sqlite_template, path)
    bulk = Database(f'sqlite:///{path}')
    try:
        provision(bulk)
        lines = run(bulk, 1500, fast=True, seed=33)
        check_demo_data(bulk, lines, 1500)
        real, loaded = flow_of(db), flow_of(bulk)
    finally:
        bulk.dispose()
    assert {m[4] for m in real[0]} == {None, 'sent', 'scrap', 'rework'}
    assert loaded[0] == real[0]
    assert loaded[1] == real[1]
    assert [t[:4] + t[6:] for t in loaded[2]] == [t[:4] + t[6:] for t in real[2]]
    for (*_, since, last, _), (*_, real_since, real_last, _) in zip(loaded[2], real[2], strict=True):
        assert (since is None) == (real_since is None)
        assert since is None or abs(since - real_since) <= 1
        assert abs(last - real_last) <= 1


@pytest.mark.parametrize('seed', range(6))
def test_the_plan_never_receives_more_than_was_sent(seed: int) -> None:
    """Replayed in time order, per order: no work center receives more than was sent to it (the first more than
    the order's pieces), none sends more than it holds, and about 1-2 % of OUT batches scrap a few pieces."""
    released: list[tuple[int, int, float]] = []
    mix = FlowMix(0.015, 0.01)
    n_wc = 5
    held: dict[tuple[int, int], int] = defaultdict(int)
    on_the_way: dict[tuple[int, int], int] = defaultdict(int)
    fresh: dict[int, int] = defaultdict(int)
    outs: dict[str, int] = defaultdict(int)
    for batch in orders.timeline(seed, 20_000, 600.0, n_wc, released, mix):
        planned = {order: qty for order, qty, _ in released}
        for _, order, wc, kind, qty, disposition, _ in batch:
            if kind == 'IN':
                take = min(qty, on_the_way[order, wc])
                on_the_way[order, wc] -= take
                assert take == qty or wc == 0, 'a later step receives only what was sent to it'
                fresh[order] += qty - take
                assert fresh[order] <= planned[order], 'the first step receives at most the planned pieces'
                held[order, wc] += qty
            else:
                held[order, wc] -= qty
                assert held[order, wc] >= 0, 'nobody sends more than is there'
                outs[disposition] += 1
                to = {'sent': wc + 1, 'rework': wc - 1}.get(disposition)
                if to is not None and to < n_wc:
                    assert to >= 0, 'the first step sends nothing back'
                    on_the_way[order, to] += qty
    total = sum(outs.values())
    assert 0.005 < outs['scrap'] / total < 0.03 and 0.002 < outs['rework'] / total < 0.02
    assert set(outs) == {'sent', 'scrap', 'rework'}
