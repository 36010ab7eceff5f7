"""Settings of the whole site that admins change in the app (Admin → Settings), kept in `site_setting`.

Each setting is declared once here with its default and its allowed values; a missing row means the
default. Changes are audited in the same transaction. The ledger reads the unknown-order policy in its
own statement (it must hold at the moment of the write), everything else reads it through `get`.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    default: str  # '' with a `configured` name: the process setting of that name (from the environment)
    choices: tuple[str, ...] | None = None  # None: free text (checked by its owner)


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(UNKNOWN_ORDERS, 'Orders not in the order book', '', (REFUSE, CONFIRM, ALLOW)),
        SettingSpec(IMPORT_COLUMNS, 'Columns of the order import', '{}'),
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
