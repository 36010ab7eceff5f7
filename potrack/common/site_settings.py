"""Settings of the whole site that admins change in the app (Admin → Settings), kept in `site_setting`.

Each setting is declared once here with its default and its allowed values; a missing row means the
default. Changes are audited in the same transaction. The ledger reads the unknown-order policy in its
own statement (it must hold at the moment of the write), everything else reads it through `get`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import SiteSetting
from potrack.db.types import utcnow
from potrack.errors import InvalidInput
from potrack.live.announce import SETTINGS, write_announced

UNKNOWN_ORDERS = 'unknown_orders'
REFUSE, CONFIRM, ALLOW = 'refuse', 'confirm', 'allow'
IMPORT_COLUMNS = 'import_columns'  # the column mapping an admin chose for the ERP's order files (JSON)
# The flow between work centers (ledger/flow.py). The ledger reads these in its write's own statement.
OVER_RECEIPT_PCT = 'over_receipt_pct'  # % more than was sent (first step: planned) a work center may receive
OFF_ROUTE = 'off_route_receipts'  # an IN at a work center not on the order's route: refuse, or allow and flag
TRANSIT_OLD_HOURS = 'transit_old_hours'  # pieces in transit longer than this are highlighted
AUTO_CLOSE = 'auto_close'  # close an order by itself once its planned quantity is finished or scrapped
DEFAULT_ROUTE = 'default_route'  # the route of a new order that has none (and whose product has none)
ON, OFF = 'on', 'off'


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    default: str  # '' with a `configured` name: the process setting of that name (from the environment)
    choices: tuple[str, ...] | None = None  # None: free text (checked by `check`, or by its owner)
    check: Callable[[str], str] | None = None  # the value cleaned, or InvalidInput


def whole_number(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        text = value.strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise InvalidInput(f'Enter a whole number from {low} to {high}.')
        return str(int(text))

    return check


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(UNKNOWN_ORDERS, 'Orders not in the order book', '', (REFUSE, CONFIRM, ALLOW)),
        SettingSpec(IMPORT_COLUMNS, 'Columns of the order import', '{}'),
        SettingSpec(OVER_RECEIPT_PCT, 'Over-receipt tolerance (%)', '0', check=whole_number(0, 100)),
        SettingSpec(OFF_ROUTE, 'Receipts at a work center not on the route', REFUSE, (REFUSE, ALLOW)),
        SettingSpec(TRANSIT_OLD_HOURS, 'Transit is old after (hours)', '8', check=whole_number(1, 720)),
        SettingSpec(AUTO_CLOSE, 'Close finished orders by themselves', OFF, (OFF, ON)),
        SettingSpec(DEFAULT_ROUTE, 'Route of new orders without one', ''),
    )
}


def default(key: str) -> str:
    """A setting's value while no admin has chosen one; the unknown-order policy's comes from
    POTRACK_UNKNOWN_ORDERS (confirm unless an installer presets another)."""
    return settings().unknown_orders if key == UNKNOWN_ORDERS else SPECS[key].default


def get(session: Session, key: str) -> str:
    row = session.get(SiteSetting, key)
    return row.value if row is not None else default(key)


def read(key: str, db: Database | None = None) -> str:
    """One setting's value (its default when never set)."""
    db = db or database()
    with db.read() as session:
        return get(session, key)


def put(session: Session, *, actor_id: int | None, key: str, value: str) -> None:
    """Store a setting inside the caller's transaction, audited when it changes."""
    spec = SPECS[key]
    if spec.choices is not None and value not in spec.choices:
        raise InvalidInput(f'{spec.label}: choose one of {", ".join(spec.choices)}.', field=key)
    if spec.check is not None:
        try:
            value = spec.check(value)
        except InvalidInput as exc:
            raise InvalidInput(f'{spec.label}: {exc}', field=key) from exc
    row = session.get(SiteSetting, key)
    if row is not None and row.value == value:
        return
    before = row.value if row is not None else default(key)
    row = row or SiteSetting(key=key, value=value)
    row.value, row.updated_by_id, row.updated_at = value, actor_id, utcnow()
    session.add(row)
    if before != value:
        audit.record(
            session,
            actor_id=actor_id,
            action='setting.change',
            entity='setting',
            entity_id=key,
            before={'value': before},
            after={'value': value},
        )


def change(actor: Actor, *, key: str, value: str, db: Database | None = None) -> str:
    """An admin changes a setting. Raises NotAllowed, SignedOut, InvalidInput."""
    db = db or database()

    def unit(session: Session) -> str:
        user = require_admin(session, actor)
        put(session, actor_id=user.id, key=key, value=value)
        return value

    return write_announced(db, unit, SETTINGS)
