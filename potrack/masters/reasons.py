"""The reasons pieces are scrapped or sent back for rework: the list admins keep (Admin → Reasons).

Kiosks offer the active reasons of the kind an OUT needs; a reason once used stays in history, so
reasons are retired (deactivated), never deleted. Every change is an audit event in its own
transaction and is announced as a 'masters' change, which makes open kiosks reload their lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.common import audit
from potrack.common.actors import Actor, load_user, require_admin
from potrack.common.field_checks import check_fields
from potrack.common.validation import clean_text, shown
from potrack.db.engine import Database, database
from potrack.db.models import REASON_KINDS, REWORK, SCRAP, FlowReason
from potrack.errors import Conflict, InvalidInput, NotFound
from potrack.live.announce import MASTERS, write_announced

REASON_CODE_RE = re.compile(r'[A-Z0-9_-]{1,20}')
REASON_LABEL_MAX_LEN = 80
BOTH = 'both'
KIND_LABELS = {SCRAP: 'Scrap', REWORK: 'Rework', BOTH: 'Scrap and rework'}


@dataclass(frozen=True)
class Reason:
    id: int
    code: str
    label: str
    kind: str  # 'scrap', 'rework' or 'both'
    is_active: bool

    @property
    def shown(self) -> str:
        return f'{self.code} {self.label}'


def _reason(row: FlowReason) -> Reason:
    assert row.id is not None
    return Reason(row.id, row.code, row.label, row.kind, row.is_active)


def normalize_reason_code(raw: Any) -> str:
    text = raw.strip().upper() if isinstance(raw, str) else ''
    if not REASON_CODE_RE.fullmatch(text):
        raise InvalidInput(
            f'A reason code has 1 to 20 letters, digits, - or _ (e.g. DIM); "{shown(text)}" does not.'
            if text
            else 'Enter a reason code (e.g. DIM).',
            field='code',
        )
    return text


def clean_reason_label(raw: Any) -> str:
    return clean_text(raw, field='label', label='The reason text', max_len=REASON_LABEL_MAX_LEN)


def parse_kind(raw: Any) -> str:
    if raw not in REASON_KINDS:
        raise InvalidInput('Choose what the reason is for: scrap, rework or both.', field='kind')
    return str(raw)


def list_reasons(
    actor: Actor, *, kind: str | None = None, include_inactive: bool = False, db: Database | None = None
) -> list[Reason]:
    """Reasons by label: those usable for `kind` ('scrap' or 'rework'; None: all kinds).

    Any signed-in user may list the active ones; only admins see retired ones too.
    Raises SignedOut, NotAllowed (include_inactive by a non-admin), InvalidInput (unknown kind).
    """
    if kind is not None and kind not in (SCRAP, REWORK):
        raise InvalidInput('Reasons are listed for scrap or for rework.', field='kind')
    db = db or database()
    with db.read() as session:
        if include_inactive:
            require_admin(session, actor)
        else:
            load_user(session, actor)
        query = select(FlowReason)
        if kind is not None:
            query = query.where(col(FlowReason.kind).in_((kind, BOTH)))
        if not include_inactive:
            query = query.where(col(FlowReason.is_active))
        rows = session.exec(query.order_by(func.lower(FlowReason.label), col(FlowReason.code))).all()
        return [_reason(row) for row in rows]


def _check_code_free(session: Session, code: str) -> None:
    if session.exec(select(FlowReason.id).where(func.upper(FlowReason.code) == code)).first() is not None:
        raise Conflict(f'Reason code {code} is already used.', field='code')


def _row(session: Session, reason_id: int) -> FlowReason:
    row = session.get(FlowReason, reason_id)
    if row is None:
        raise NotFound('That reason does not exist.')
    return row


def add_reason(actor: Actor, *, code: Any, label: Any, kind: Any, db: Database | None = None) -> Reason:
    """Admin only: a new reason (code stored upper-case, unique whatever its case).

    Raises NotAllowed, SignedOut, InvalidInput (with the field), Conflict (code used).
    """
    fields = check_fields(
        {
            'code': lambda: normalize_reason_code(code),
            'label': lambda: clean_reason_label(label),
            'kind': lambda: parse_kind(kind),
        }
    )
    db = db or database()

    def unit(session: Session) -> Reason:
        admin = require_admin(session, actor)
        _check_code_free(session, fields['code'])
        row = FlowReason(code=fields['code'], label=fields['label'], kind=fields['kind'])
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor_id=admin.id,
            action='flow_reason.create',
            entity='flow_reason',
            entity_id=row.id,
            after={'code': row.code, 'label': row.label, 'kind': row.kind},
        )
        return _reason(row)

    try:
        return write_announced(db, unit, MASTERS)
    except IntegrityError:  # another admin added the same code a moment earlier
        raise Conflict(f'Reason code {fields["code"]} is already used.', field='code') from None


def edit_reason(actor: Actor, *, reason_id: int, label: Any, kind: Any, db: Database | None = None) -> Reason:
    """Admin only: change a reason's text and kind; its code stays, as the movements' history names it.

    Raises NotAllowed, SignedOut, NotFound, InvalidInput (with the field).
    """
    fields = check_fields({'label': lambda: clean_reason_label(label), 'kind': lambda: parse_kind(kind)})
    db = db or database()

    def unit(session: Session) -> Reason:
        admin = require_admin(session, actor)
        row = _row(session, reason_id)
        before = {'label': row.label, 'kind': row.kind}
        row.label, row.kind = fields['label'], fields['kind']
        session.add(row)
        audit.record_changes(
            session,
            actor_id=admin.id,
            action='flow_reason.update',
            entity='flow_reason',
            entity_id=reason_id,
            before=before,
            after={'label': row.label, 'kind': row.kind},
        )
        return _reason(row)

    return write_announced(db, unit, MASTERS)


def set_reason_active(actor: Actor, *, reason_id: int, active: bool, db: Database | None = None) -> Reason:
    """Admin only: retire a reason (kiosks no longer offer it; history keeps it) or bring it back.

    Raises NotAllowed, SignedOut, NotFound.
    """
    db = db or database()

    def unit(session: Session) -> Reason:
        admin = require_admin(session, actor)
        row = _row(session, reason_id)
        if row.is_active == active:
            return _reason(row)
        audit.record(
            session,
            actor_id=admin.id,
            action='flow_reason.activate' if active else 'flow_reason.deactivate',
            entity='flow_reason',
            entity_id=reason_id,
            before={'is_active': row.is_active},
            after={'is_active': active},
        )
        row.is_active = active
        session.add(row)
        return _reason(row)

    return write_announced(db, unit, MASTERS)
