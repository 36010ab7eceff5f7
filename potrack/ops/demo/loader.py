"""Demo data: one operator per department, and orders flowing down the line over the last 30 days.

`run_demo` is what `potrack demo` runs. It creates (or resets) a demo operator per active department
and prints their passwords, then adds exactly the number of movements asked for: orders of 20–500
pieces released at the first work center of the line (the active work centers by code, WC001…WC005
when provisioned), coming IN in batches, going OUT in batches to the next work center, minutes to hours
apart. Now and then a few pieces are scrapped, or sent back one step for rework, with a reason from the
admins' list. No work center receives more than was sent to it (the first: more than the order's pieces),
as the ledger requires of orders with a route. The movements are planned in time order and end a few
minutes ago, so the latest orders are only part-way down the line: that is the work in progress the
balances show, and the pieces in transit between work centers.

Two ways to write them:

- the real path (`real_path`, default below FAST_THRESHOLD movements) records every movement through
  `ledger.record_movement`, exactly as a kiosk would, then backdates the rows it made to their planned
  times in one demo-only transaction;
- the fast path (`fast_path`) bulk-loads the ledger (PostgreSQL COPY, SQLite executemany) and builds the balances of
  the touched (work center, order) pairs from the ledger sums, all in one transaction.

Either way `integrity.check_consistency` (balances, transit, scrap and rework) holds afterwards, and it is
checked before the summary.
The fast path assumes nobody else records movements of the demo's brand-new orders meanwhile.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from sqlalchemy import func
from sqlmodel import Session, col, select

from potrack.common import site_settings
from potrack.db.engine import Database
from potrack.db.models import OrderBalance, OrderTransit, SiteSetting
from potrack.errors import InvalidInput, PotrackError
from potrack.ledger.integrity import check_consistency
from potrack.ops.demo.book import close_finished
from potrack.ops.demo.fast_path import load_bulk
from potrack.ops.demo.operators import demo_operators, print_operators
from potrack.ops.demo.orders import Plan, make_line, make_plan, span_days
from potrack.ops.demo.real_path import load_real

FAST_THRESHOLD = 100_000
MAX_MOVEMENTS = 10_000_000

log = logging.getLogger(__name__)


def run_demo(
    db: Database, *, movements: int, fast: bool | None, out: Callable[[str], None], seed: int | None = None
) -> None:
    """Create the demo operators and add exactly `movements` movements; print what a newcomer needs.

    `fast=None` bulk-loads when `movements >= FAST_THRESHOLD`. Raises InvalidInput for a count out of
    range and PotrackError when the consistency check fails afterwards (it should never).
    """
    if not 0 <= movements <= MAX_MOVEMENTS:
        raise InvalidInput(f'Ask for 0 to {MAX_MOVEMENTS:,} demo movements.', field='movements')
    bulk = movements >= FAST_THRESHOLD if fast is None else fast
    started = time.monotonic()
    operators = demo_operators(db)
    print_operators(db, operators, out)
    _refuse_unknown_orders(db, out)
    if movements == 0:
        return
    line = make_line(db, operators)
    plan = make_plan(db, movements, seed if seed is not None else random.SystemRandom().randrange(2**63), line)
    how = 'bulk load' if bulk else 'the ledger write path'
    out(
        f'Adding {movements:,} movements through {how}: orders from {plan.order_number(0)} on, '
        f'flowing {" → ".join(line.codes)} over the last {span_days(plan):.0f} days.'
    )
    orders = load_bulk(db, plan, line, out) if bulk else load_real(db, plan, line, out)
    with db.engine.begin() as conn:
        closed = close_finished(conn)
    if db.is_postgres and closed:
        # Closing rewrote most of the book's rows: fresh statistics (and no dead rows for a count to walk) so
        # the orders page's plans fit it (bench/flow_reads.py: a page's count 8.3 ms before, 5.8 ms after).
        with db.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
            conn.exec_driver_sql('VACUUM (ANALYZE) order_header')
    out(f'  closed {closed:,} orders whose planned pieces have all left the line')
    _summary(db, plan, orders, time.monotonic() - started, out)


def _refuse_unknown_orders(db: Database, out: Callable[[str], None]) -> None:
    """The demo shows the order book at work: its orders are in the book, and a typo is refused. A policy
    an admin already chose is kept."""

    def unit(session: Session) -> bool:
        if session.get(SiteSetting, site_settings.UNKNOWN_ORDERS) is not None:
            return False
        site_settings.put(session, actor_id=None, key=site_settings.UNKNOWN_ORDERS, value=site_settings.REFUSE)
        return True

    if db.write(unit):
        out('Orders not in the order book are refused (Admin → Settings changes that).')


# --- the end -------------------------------------------------------------------------------------------


def _summary(db: Database, plan: Plan, orders: int, seconds: float, out: Callable[[str], None]) -> None:
    report = check_consistency(db)
    with db.read() as session:
        open_pairs, wip = session.exec(
            select(func.count(), func.coalesce(func.sum(OrderBalance.qty_in - OrderBalance.qty_out), 0)).where(
                col(OrderBalance.qty_in) > col(OrderBalance.qty_out)
            )
        ).one()
        scrapped, reworked = session.exec(
            select(
                func.coalesce(func.sum(OrderBalance.qty_scrap), 0), func.coalesce(func.sum(OrderBalance.qty_rework), 0)
            )
        ).one()
        on_the_way = session.exec(
            select(func.coalesce(func.sum(col(OrderTransit.qty_sent) - col(OrderTransit.qty_received)), 0))
        ).one()
    last = plan.order_number(orders - 1) if orders else plan.order_number(0)
    out(
        f'Added {plan.movements:,} movements of {orders:,} orders ({plan.order_number(0)} … {last}) in {seconds:.1f} s.'
    )
    out(
        f'The ledger holds {report.movements:,} movements and {report.balance_rows:,} balance rows; '
        f'{int(wip):,} pieces are in progress in {int(open_pairs):,} (work center, order) pairs, '
        f'{int(on_the_way):,} on their way between work centers; {int(scrapped):,} were scrapped and '
        f'{int(reworked):,} sent back for rework.'
    )
    if not report.consistent:
        for m in report.mismatches:
            out('  ' + m.describe())
        raise PotrackError(
            f'The demo data is inconsistent: {len(report.mismatches)} balance(s), transit row(s) or order time(s) '
            f'differ from the ledger.'
        )
    out('Consistency check: every balance and transit row equals the sums of its movements; none is negative.')
