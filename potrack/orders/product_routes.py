"""The route new orders of a product get when they arrive without one (the site's own default is a flow
setting, `flow_settings`).

Admins keep them (Admin → Settings). Each is checked like an order's route (work center codes, each once,
each a work center) when it is set, and every change is audited and announced as a settings change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.field_checks import check_fields
from potrack.common.paging import Page, check_paging
from potrack.common.validation import clean_text, search_text
from potrack.db.engine import Database, database
from potrack.db.models import ProductRoute
from potrack.db.tables import PRODUCT_ROUTES
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound
from potrack.live.announce import SETTINGS, write_announced
from potrack.orders.fields import PRODUCT_CODE_MAX_LEN, parse_route
from potrack.orders.route_checks import check_route


@dataclass(frozen=True)
class ProductRouteInfo:
    product_code: str
    route: str
    updated_at: datetime


def clean_product_code(raw: Any) -> str:
    return clean_text(raw, field='product_code', label='The product code', max_len=PRODUCT_CODE_MAX_LEN)


def _route(raw: Any) -> str:
    route = parse_route(raw)
    if not route:
        raise InvalidInput('Enter the route, like WC001>WC002>WC005.', field='route')
    return route


def list_product_routes(
    actor: Actor, *, text: Any = '', offset: int = 0, limit: int = 20, db: Database | None = None
) -> Page[ProductRouteInfo]:
    """Admins only: the products' default routes whose product code starts with `text`, by product code.

    Raises NotAllowed, SignedOut, InvalidInput (paging).
    """
    check_paging(offset, limit)
    wanted = search_text(text).upper()
    db = db or database()
    table = PRODUCT_ROUTES
    with db.read() as session:
        require_admin(session, actor)
        conditions = []
        if wanted:
            escaped = wanted.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
            conditions.append(func.upper(table.c.product_code).like(escaped + '%', escape='\\'))
        conn = session.connection()
        total = conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
        query = select(table).where(*conditions).order_by(table.c.product_code).offset(offset).limit(limit)
        rows = [ProductRouteInfo(r.product_code, r.route, r.updated_at) for r in conn.execute(query)]
        return Page(rows, int(total), offset, limit)


def set_product_route(actor: Actor, *, product_code: Any, route: Any, db: Database | None = None) -> ProductRouteInfo:
    """Admins only: the route new orders of this product get when they come without one (added or replaced).

    Raises NotAllowed, SignedOut, InvalidInput (with the field: a bad code, a step twice, no work center).
    """
    fields = check_fields({'product_code': lambda: clean_product_code(product_code), 'route': lambda: _route(route)})
    code, clean = fields['product_code'], fields['route']
    db = db or database()

    def unit(session: Session) -> ProductRouteInfo:
        admin = require_admin(session, actor)
        check_route(session, clean)
        row = session.get(ProductRoute, code)
        before = {'route': row.route} if row is not None else None
        row = row or ProductRoute(product_code=code, route=clean)
        row.route, row.updated_by_id, row.updated_at = clean, admin.id, utcnow()
        session.add(row)
        if before is None or before['route'] != clean:
            audit.record(
                session,
                actor_id=admin.id,
                action='product_route.set',
                entity='product_route',
                entity_id=code,
                before=before,
                after={'route': clean},
            )
        return ProductRouteInfo(code, clean, row.updated_at)

    return write_announced(db, unit, SETTINGS)


def delete_product_route(actor: Actor, *, product_code: Any, db: Database | None = None) -> None:
    """Admins only: new orders of this product get the site's default route again.

    Raises NotAllowed, SignedOut, NotFound.
    """
    code = clean_product_code(product_code)
    db = db or database()

    def unit(session: Session) -> None:
        admin = require_admin(session, actor)
        row = session.get(ProductRoute, code)
        if row is None:
            raise NotFound(f'{code} has no default route.', field='product_code')
        audit.record(
            session,
            actor_id=admin.id,
            action='product_route.delete',
            entity='product_route',
            entity_id=code,
            before={'route': row.route},
        )
        session.execute(delete(ProductRoute).where(ProductRoute.product_code == code))  # type: ignore[arg-type]

    write_announced(db, unit, SETTINGS)
