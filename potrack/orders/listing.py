"""Reading the order book: the orders page's search and paging, one order's detail, the kiosk's look-up.

Any signed-in user reads the book (order numbers, products and plans are what the floor works from);
how many pieces sit where is shown only for the work centers the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from potrack.common import site_settings
from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.common.paging import Page, check_paging
from potrack.common.validation import normalize_order_number, search_text
from potrack.db.engine import Database, database
from potrack.db.models import ORDER_CANCELLED, ORDER_CLOSED, ORDER_OPEN, ORDER_STATUSES
from potrack.db.tables import ORDERS
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound
from potrack.i18n import N_
from potrack.orders.progress import Progress, done_condition, seen_progress, steps_by_order
from potrack.orders.route_steps import RouteStep, route_steps
from potrack.timeutil import local_today

Match = Literal['prefix', 'contains']


@dataclass(frozen=True)
class OrderFilter:
    text: str = ''
    match: Match = 'prefix'
    status: str | None = None  # None: every status
    due_from: date | None = None
    due_to: date | None = None
    late_only: bool = False


@dataclass(frozen=True)
class OrderRow:
    order_number: str
    product_code: str
    product_description: str
    planned_quantity: int | None
    due_date: date | None
    route: str
    status: str
    source: str
    notes: str
    progress: Progress
    late: bool


def _like_escaped(text: str) -> str:
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _conditions(flt: OrderFilter, today: date) -> list[Any]:
    if flt.status is not None and flt.status not in ORDER_STATUSES:
        raise InvalidInput(f'Status must be one of {", ".join(ORDER_STATUSES)}.', field='status')
    if flt.due_from and flt.due_to and flt.due_from > flt.due_to:
        raise InvalidInput('The "due from" date is after the "due to" date.', field='due_from')
    conditions: list[Any] = []
    text = search_text(flt.text)
    if text:
        if flt.match == 'prefix':
            pattern = _like_escaped(text.upper()) + '%'
            conditions.append(
                or_(ORDERS.c.order_number.like(pattern, escape='\\'), ORDERS.c.product_code.like(pattern, escape='\\'))
            )
        else:
            # ILIKE on the plain columns: PostgreSQL answers it from the trigram indexes (SQLite: lower() LIKE).
            pattern = '%' + _like_escaped(text) + '%'
            conditions.append(
                or_(
                    ORDERS.c.order_number.ilike(pattern, escape='\\'),
                    ORDERS.c.product_code.ilike(pattern, escape='\\'),
                    ORDERS.c.product_description.ilike(pattern, escape='\\'),
                )
            )
    if flt.status is not None:
        conditions.append(ORDERS.c.status == flt.status)
    if flt.due_from is not None:
        conditions.append(ORDERS.c.due_date >= flt.due_from)
    if flt.due_to is not None:
        conditions.append(ORDERS.c.due_date <= flt.due_to)
    if flt.late_only:  # open, past due and not done: the same rule as each row's "late" (progress.is_late)
        conditions.append(and_(ORDERS.c.status == ORDER_OPEN, ORDERS.c.due_date < today, not_(done_condition(ORDERS))))
    return conditions


def _rows(session: Session, records: list[Any], visible: set[int] | None, today: date) -> list[OrderRow]:
    if not records:
        return []
    steps = steps_by_order(session, [r.order_number for r in records], {r.order_number: r.route for r in records})
    old_before = utcnow() - timedelta(hours=int(site_settings.get(session, site_settings.TRANSIT_OLD_HOURS)))
    rows = []
    for r in records:
        progress, late = seen_progress(r, steps.get(r.order_number, []), visible, today, old_before)
        rows.append(
            OrderRow(
                order_number=r.order_number,
                product_code=r.product_code,
                product_description=r.product_description,
                planned_quantity=r.planned_quantity,
                due_date=r.due_date,
                route=r.route,
                status=r.status,
                source=r.source,
                notes=r.notes,
                progress=progress,
                late=late,
            )
        )
    return rows


def _visible(session: Session, actor: Actor) -> set[int] | None:
    """None for admins (every work center), else the ids the user may see."""
    user = load_user(session, actor)
    return None if user.is_admin else visible_work_center_ids(session, user)


def list_orders(
    actor: Actor, flt: OrderFilter, *, offset: int = 0, limit: int = 50, db: Database | None = None
) -> Page[OrderRow]:
    """One page of the orders that match, the soonest due first (orders without a due date last)."""
    check_paging(offset, limit)
    db = db or database()
    today = local_today()
    conditions = _conditions(flt, today)
    with db.read() as session:
        visible = _visible(session, actor)
        conn = session.connection()
        order = (ORDERS.c.due_date.asc().nulls_last(), ORDERS.c.order_number)
        total: int | None = None
        if flt.text:
            # A text search selects few rows: find them once, then count and sort them in the same statement,
            # rather than walk the whole book in due-date order filtering as it goes (order numbers rise with
            # due dates: bench/orders_page.py).
            matched = (
                select(ORDERS.c.order_number, ORDERS.c.due_date)
                .where(*conditions)
                .cte('matched')
                .prefix_with('MATERIALIZED')
            )
            numbers = select(matched.c.order_number).order_by(
                matched.c.due_date.asc().nulls_last(), matched.c.order_number
            )
            counted = select(func.count()).select_from(matched).scalar_subquery().label('total')
        else:
            numbers = select(ORDERS.c.order_number).where(*conditions).order_by(*order)
            counted = None
        # The page's numbers first, then their rows (a deferred join): a deep page walks index entries, not
        # whole rows. NULLS LAST rather than `due_date IS NULL` first: the same order, the one the indexes on
        # (due_date, order_number) and (status, due_date) give.
        page = numbers.offset(offset).limit(limit).subquery('page')
        columns = [ORDERS, counted] if counted is not None else [ORDERS]
        query = select(*columns).join(page, ORDERS.c.order_number == page.c.order_number).order_by(*order)
        records = list(conn.execute(query))
        if counted is not None and records:
            total = int(records[0].total)
        if total is None:  # no text search, or a page past the end
            total = conn.execute(select(func.count()).select_from(ORDERS).where(*conditions)).scalar_one()
        return Page(_rows(session, records, visible, today), int(total), offset, limit)


def get_order(actor: Actor, order_number: Any, db: Database | None = None) -> OrderRow:
    """One order of the book with its progress. Raises NotFound, InvalidInput, SignedOut."""
    number = normalize_order_number(order_number)
    db = db or database()
    with db.read() as session:
        order = _order(session, actor, number)
        if order is None:
            raise NotFound(f'{number} is not in the order book.', field='order_number')
        return order


def _order(session: Session, actor: Actor, number: str) -> OrderRow | None:
    visible = _visible(session, actor)
    record = session.connection().execute(select(ORDERS).where(ORDERS.c.order_number == number)).first()
    return None if record is None else _rows(session, [record], visible, local_today())[0]


@dataclass(frozen=True)
class OrderLookup:
    """What the kiosk shows as soon as an order number is entered, before any quantity is sent."""

    order_number: str
    order: OrderRow | None  # None: not in the book
    policy: str  # the site's unknown-order policy: refuse, confirm or allow
    route: tuple[RouteStep, ...] = ()  # the order's route in order (the kiosk's rework targets); () : none

    @property
    def message_template(self) -> str:
        """`message` with '{order}' for its number: the catalogue's entry, which the kiosk translates (i18n)."""
        if self.order is None:
            if self.policy == site_settings.REFUSE:
                return N_('{order} is not in the order book — check the number or ask the office.')
            if self.policy == site_settings.CONFIRM:
                return N_('{order} is not in the order book. You can start it here.')
            return N_('{order} is a new order.')
        if self.order.status == ORDER_CLOSED:
            return N_('{order} is closed: it takes no new movements.')
        if self.order.status == ORDER_CANCELLED:
            return N_('{order} is cancelled: it takes no new movements.')
        return ''

    @property
    def message(self) -> str:
        return self.message_template.format(order=self.order_number)


def look_up(actor: Actor, order_number: Any, db: Database | None = None) -> OrderLookup:
    """The kiosk's look-up of a typed or scanned number. Raises InvalidInput (not an order number), SignedOut."""
    number = normalize_order_number(order_number)
    db = db or database()
    with db.read() as session:  # one read: the kiosk does this on every order entered
        order = _order(session, actor, number)
        route = route_steps(order.route, order.progress) if order is not None else ()
        return OrderLookup(number, order, site_settings.get(session, site_settings.UNKNOWN_ORDERS), route)
