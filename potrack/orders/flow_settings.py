"""The site's settings of the flow between work centers, read and saved together (Admin → Settings).

The ledger applies them inside its write (tolerance, receipts off the route); the order book gives new
orders the default route; pages highlight old transit. Saved in one transaction, every field checked
first so a person sees every problem at once, each change audited by `site_settings.put`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from potrack.common import site_settings as ss
from potrack.common.actors import Actor, require_admin
from potrack.common.field_checks import check_fields
from potrack.db.engine import Database, database
from potrack.errors import InvalidInput
from potrack.live.announce import SETTINGS, write_announced
from potrack.orders.fields import parse_route
from potrack.orders.route_checks import check_route

FLOW_KEYS = (ss.OVER_RECEIPT_PCT, ss.OFF_ROUTE, ss.TRANSIT_OLD_HOURS, ss.AUTO_CLOSE, ss.DEFAULT_ROUTE)


@dataclass(frozen=True)
class FlowSettings:
    over_receipt_pct: str
    off_route: str  # refuse / allow
    transit_old_hours: str
    auto_close: str  # off / on
    default_route: str  # '' : new orders without a route of their product's get none


def _read(session: Session) -> FlowSettings:
    return FlowSettings(*(ss.get(session, key) for key in FLOW_KEYS))


def flow_settings(actor: Actor, db: Database | None = None) -> FlowSettings:
    """Admins only: the flow settings as they hold now. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        return _read(session)


def _checked(session: Session, key: str, raw: Any) -> str:
    spec = ss.SPECS[key]
    value = raw.strip() if isinstance(raw, str) else str(raw if raw is not None else '')
    try:
        if key == ss.DEFAULT_ROUTE:
            route = parse_route(value)
            return check_route(session, route) if route else route
        if spec.choices is not None and value not in spec.choices:
            raise InvalidInput(f'choose one of {", ".join(spec.choices)}.')
        return spec.check(value) if spec.check is not None else value
    except InvalidInput as exc:
        raise InvalidInput(f'{spec.label}: {exc.message}', field=key) from exc


def save_flow_settings(actor: Actor, values: FlowSettings, db: Database | None = None) -> FlowSettings:
    """Admins only: store the flow settings (those unchanged are left alone); each change audited.

    Raises NotAllowed, SignedOut, InvalidInput or InvalidFields (field: the setting's key; a default route
    naming a code that is no work center too). Nothing is saved unless every field is right.
    """
    given = dict(zip(FLOW_KEYS, (getattr(values, name) for name in FlowSettings.__dataclass_fields__), strict=True))
    db = db or database()

    def unit(session: Session) -> FlowSettings:
        admin = require_admin(session, actor)
        clean = check_fields({key: (lambda key=key: _checked(session, key, given[key])) for key in FLOW_KEYS})
        for key in FLOW_KEYS:
            ss.put(session, actor_id=admin.id, key=key, value=clean[key])
        return _read(session)

    return write_announced(db, unit, SETTINGS)
