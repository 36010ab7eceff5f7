"""Putting orders into the book: new ones created, open ones updated, closed ones never touched silently.

One function serves the ERP import, the REST API, the CLI and the admin's dialog, inside the caller's
transaction, so a batch is saved whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from potrack.common import audit
from potrack.db.models import ORDER_OPEN, AuditEvent, OrderHeader
from potrack.db.types import utcnow
from potrack.errors import InvalidInput
from potrack.orders.fields import OrderFields
from potrack.orders.route_checks import default_routes, route_problems

# What a re-import may change on an open order (never the number, status or source).
UPDATABLE = ('product_code', 'product_description', 'planned_quantity', 'due_date', 'route', 'notes')
_LOOKUP_CHUNK = 500  # order numbers per IN (...): well inside every database's parameter limit


@dataclass(frozen=True)
class OrderChange:
    """One order a save changed, or would have changed: each field as (before, after)."""

    order_number: str
    changes: dict[str, tuple[Any, Any]]


@dataclass
class SaveReport:
    """What a save did (or, in a dry run, would do), order by order."""

    created: list[str] = field(default_factory=list)
    updated: list[OrderChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Closed or cancelled orders the file would change: left as they are, and listed so nobody is surprised.
    not_open: list[OrderChange] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = [f'{len(self.created)} new', f'{len(self.updated)} updated', f'{len(self.unchanged)} unchanged']
        if self.not_open:
            parts.append(f'{len(self.not_open)} closed or cancelled left as they are')
        return ', '.join(parts)


def existing_orders(session: Session, numbers: Sequence[str]) -> dict[str, OrderHeader]:
    """The stored orders among `numbers`, by number."""
    found: dict[str, OrderHeader] = {}
    unique = list(dict.fromkeys(numbers))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        for row in session.exec(select(OrderHeader).where(col(OrderHeader.order_number).in_(chunk))):
            found[row.order_number] = row
    return found


def _changes(row: Any, given: OrderFields) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in UPDATABLE:
        new = getattr(given, name)
        old = getattr(row, name)
        if new is not None and new != old:
            changes[name] = (old, new)
    return changes


def save_orders(
    session: Session, *, actor_id: int | None, orders: Sequence[OrderFields], source: str, dry_run: bool = False
) -> SaveReport:
    """Create the new orders, update the open ones, list the rest; audited. `dry_run`: only the report.

    Fields given as None are left as stored. A new order without a route gets its product's default route,
    else the site's. The caller commits (or, for a dry run, writes nothing).
    Raises InvalidInput (a route naming a code that is no work center; nothing is saved).
    """
    report = SaveReport()
    _check_routes(session, orders)
    stored: dict[str, Any] = existing_orders(session, [o.order_number for o in orders])
    defaults = default_routes(
        session, {o.product_code or '' for o in orders if not o.route and o.order_number not in stored}
    )
    now = utcnow()
    # New orders and every audit event are inserted together at the end, as plain rows: an import of
    # 10,000 orders builds no 20,000 ORM objects (a tenth of the time, and of SQLite's write lock that the
    # kiosks wait behind). A new order repeated in `orders` updates its pending row like a stored one.
    pending: list[SimpleNamespace] = []
    events: list[dict[str, Any]] = []
    for given in orders:
        row = stored.get(given.order_number)
        if row is None:
            report.created.append(given.order_number)
            if dry_run:
                continue
            row = SimpleNamespace(
                order_number=given.order_number,
                **{name: _given_or_default(given, name, defaults) for name in UPDATABLE},
                status=ORDER_OPEN,
                source=source,
                created_by_id=actor_id,
                created_at=now,
                updated_by_id=actor_id,
                updated_at=now,
            )
            pending.append(row)
            stored[given.order_number] = row
            after = {'source': source, **{n: getattr(row, n) for n in UPDATABLE}}
            events.append(_event(actor_id, now, 'order.create', given.order_number, None, after))
            continue
        changes = _changes(row, given)
        if not changes:
            report.unchanged.append(given.order_number)
        elif row.status != ORDER_OPEN:
            report.not_open.append(OrderChange(given.order_number, changes))
        else:
            report.updated.append(OrderChange(given.order_number, changes))
            if dry_run:
                continue
            for name, (_, new) in changes.items():
                setattr(row, name, new)
            row.updated_by_id, row.updated_at = actor_id, now
            if isinstance(row, OrderHeader):
                session.add(row)
            before = {k: old for k, (old, _) in changes.items()}
            after = {k: new for k, (_, new) in changes.items()}
            events.append(_event(actor_id, now, 'order.update', given.order_number, before, after))
    if pending:
        session.execute(insert(OrderHeader), [vars(row) for row in pending])
    if events:
        session.execute(insert(AuditEvent), events)
    return report


def _check_routes(session: Session, orders: Sequence[OrderFields]) -> None:
    """Refuse the save when a route given names a code that is no work center (InvalidInput naming both)."""
    routed = [o for o in orders if o.route]
    for given, problem in zip(routed, route_problems(session, [o.route or '' for o in routed]), strict=True):
        if problem is not None:
            raise InvalidInput(f'{given.order_number}: {problem}', field='route')


def _given_or_default(given: OrderFields, name: str, routes: dict[str, str]) -> Any:
    value = getattr(given, name)
    if name == 'route' and not value:
        return routes.get(given.product_code or '', '')
    return OrderHeader.model_fields[name].default if value is None else value


def _event(
    actor_id: int | None, at: datetime, action: str, number: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, Any]:
    """An audit event as audit.record writes it, as a row for one INSERT of many."""
    return {
        'at': at,
        'actor_id': actor_id,
        'action': action,
        'entity': 'order',
        'entity_id': number,
        'before': audit.dump_json(before),
        'after': audit.dump_json(after),
    }
