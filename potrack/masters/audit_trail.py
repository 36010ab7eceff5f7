"""Reading the audit trail: who changed what, on which record, from what to what, and when.

Rows come back with the acting user's name, a readable label for the record (user name, department
name, work center code, movement number) and the before/after parsed from their JSON, with ids of
departments, work centers and users replaced by their names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from potrack.common.actors import Actor, require_admin
from potrack.common.paging import Page, check_paging
from potrack.db.engine import Database, database
from potrack.db.models import ApiToken, AuditEvent, Department, ProductionOrder, User, WorkCenter
from potrack.timeutil import day_range_utc, format_local

ENTITIES = {
    'user': 'User',
    'department': 'Department',
    'work_center': 'Work center',
    'production_order': 'Movement',
    'api_token': 'API token',
    'order': 'Order',
    'setting': 'Setting',
    'flow_reason': 'Scrap/rework reason',
    'product_route': 'Product route',
    'kiosk_device': 'Kiosk device',
}
ACTION_LABELS = {
    'user.create': 'User created',
    'user.update': 'User edited',
    'user.activate': 'User activated',
    'user.deactivate': 'User deactivated',
    'user.reset_password': 'Password reset',
    'user.change_password': 'Own password changed',
    'user.set_language': 'Own language changed',
    'user.unlock': 'User unlocked',
    'user.clear_signin_delay': 'Sign-in delay cleared',
    'user.signin_failures': 'Repeated failed sign-ins',
    'user.reset_admin': 'Admin reset (command line)',
    'department.create': 'Department created',
    'department.update': 'Department renamed',
    'department.activate': 'Department reactivated',
    'department.deactivate': 'Department deactivated',
    'department.work_centers': 'Department work centers changed',
    'work_center.create': 'Work center created',
    'work_center.update': 'Work center edited',
    'work_center.activate': 'Work center reactivated',
    'work_center.deactivate': 'Work center deactivated',
    'movement.reverse': 'Movement reversed',
    'movement.over_receipt': 'Received more than was sent (within the tolerance)',
    'movement.off_route': 'Received at a work center off the route',
    'api_token.issue': 'API token issued',
    'api_token.revoke': 'API token revoked',
    'device.create': 'Kiosk device created',
    'device.update': 'Kiosk device changed',
    'device.new_code': 'Kiosk enrollment code issued',
    'device.revoke': 'Kiosk device revoked',
    'user.operator_codes': 'Badge / PIN set',
    'user.change_pin': 'PIN changed',
    'order.create': 'Order added to the book',
    'order.update': 'Order edited',
    'order.close': 'Order closed',
    'order.cancel': 'Order cancelled',
    'order.reopen': 'Order reopened',
    'order.transit_opened': 'Pieces sent before the route was set counted in transit',
    'setting.change': 'Site setting changed',
    'flow_reason.create': 'Reason added',
    'flow_reason.update': 'Reason edited',
    'flow_reason.activate': 'Reason brought back',
    'flow_reason.deactivate': 'Reason retired',
    'product_route.set': 'Product route set',
    'product_route.delete': 'Product route removed',
}
_ID_KEYS = {'department_id': 'department', 'work_center_id': 'work_center', 'user_id': 'user'}


@dataclass(frozen=True)
class AuditFilter:
    action: str = ''  # exact action, e.g. 'user.update'; empty for all
    entity: str = ''  # one of ENTITIES; empty for all
    entity_id: str = ''  # one record of `entity` (an order number, a user id as text); empty for all
    actor_id: int | None = None
    date_from: date | None = None  # local calendar days, both included
    date_to: date | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime  # UTC; pages show it with timeutil.format_local (IST)
    actor_username: str | None  # None: the system (first start, command line)
    action: str
    entity: str
    entity_id: str
    record: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: list[str] = field(default_factory=list)


def action_label(action: str) -> str:
    """How an action reads in the audit view; unknown ones (added later) read as their code."""
    return ACTION_LABELS.get(action, action)


def _parse(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return {'value': raw}
    return data if isinstance(data, dict) else {'value': data}


def show_value(value: Any) -> str:
    """One value of a before/after as a person reads it: times in local time, lists joined, blanks as —."""
    if value is None or value == '' or value == []:
        return '—'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, list):
        return ', '.join(show_value(v) for v in value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == '-' and value[10] == 'T':
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def describe_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Lines like "department: Production → Quality Control".

    A value on one side only is shown alone: first what only `before` holds (the context, such as the
    movement a reversal cancels), then what only `after` holds.
    """
    old, new = before or {}, after or {}
    lines = [f'{k.replace("_", " ")}: {show_value(v)}' for k, v in old.items() if k not in new]
    for key, value in new.items():
        label = key.replace('_', ' ')
        if key in old:
            lines.append(f'{label}: {show_value(old[key])} → {show_value(value)}')
        else:
            lines.append(f'{label}: {show_value(value)}')
    return lines


class _Labels:
    """Readable names for the ids the rows of one page refer to, fetched with one query per kind."""

    def __init__(self, session: Session, wanted: dict[str, set[int]]) -> None:
        self.names: dict[str, dict[int, str]] = {kind: {} for kind in ENTITIES}
        if wanted['user']:
            rows = session.exec(select(User.id, User.username).where(col(User.id).in_(wanted['user']))).all()
            self.names['user'] = {i or 0: name for i, name in rows}
        if wanted['department']:
            query = select(Department.id, Department.name).where(col(Department.id).in_(wanted['department']))
            self.names['department'] = {i or 0: name for i, name in session.exec(query).all()}
        if wanted['work_center']:
            query = select(WorkCenter.id, WorkCenter.code).where(col(WorkCenter.id).in_(wanted['work_center']))
            self.names['work_center'] = {i or 0: code for i, code in session.exec(query).all()}
        if wanted['production_order']:
            movements = (
                select(ProductionOrder.id, ProductionOrder.order_number, WorkCenter.code)
                .join(WorkCenter, col(WorkCenter.id) == col(ProductionOrder.work_center_id))
                .where(col(ProductionOrder.id).in_(wanted['production_order']))
            )
            self.names['production_order'] = {
                i or 0: f'#{i} {order} at {wc}' for i, order, wc in session.exec(movements).all()
            }
        if wanted['api_token']:
            tokens = (
                select(ApiToken.id, ApiToken.name, User.username)
                .join(User, col(User.id) == col(ApiToken.user_id))
                .where(col(ApiToken.id).in_(wanted['api_token']))
            )
            self.names['api_token'] = {i or 0: f'{name} ({user})' for i, name, user in session.exec(tokens).all()}

    def label(self, kind: str, raw: Any) -> str:
        try:
            key = int(raw)
        except (TypeError, ValueError):
            return str(raw)
        fallback = f'#{key}' if kind == 'production_order' else f'{ENTITIES.get(kind, kind)} {key}'
        return self.names.get(kind, {}).get(key, fallback)

    def resolve(self, data: dict[str, Any] | None) -> dict[str, Any] | None:
        if data is None:
            return None
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in _ID_KEYS:
                out[key.removesuffix('_id')] = None if value is None else self.label(_ID_KEYS[key], value)
            else:
                out[key] = value
        return out


def _wanted(events: list[AuditEvent], parsed: list[tuple[dict | None, dict | None]]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = {kind: set() for kind in ENTITIES}
    for event, sides in zip(events, parsed, strict=True):
        if event.entity in wanted and event.entity_id.isdigit():
            wanted[event.entity].add(int(event.entity_id))
        for side in sides:
            for key, kind in _ID_KEYS.items():
                if side and isinstance(side.get(key), int):
                    wanted[kind].add(side[key])
    return wanted


def _conditions(flt: AuditFilter) -> list[Any]:
    where: list[Any] = []
    if flt.action:
        where.append(col(AuditEvent.action) == flt.action)
    if flt.entity:
        where.append(col(AuditEvent.entity) == flt.entity)
    if flt.entity_id:
        where.append(col(AuditEvent.entity_id) == flt.entity_id)
    if flt.actor_id is not None:
        where.append(col(AuditEvent.actor_id) == flt.actor_id)
    start, end = day_range_utc(flt.date_from, flt.date_to)
    if start is not None:
        where.append(col(AuditEvent.at) >= start)
    if end is not None:
        where.append(col(AuditEvent.at) < end)
    return where


def list_events(
    actor: Actor, flt: AuditFilter, *, offset: int = 0, limit: int = 50, db: Database | None = None
) -> Page[AuditRow]:
    """Admin only: one page of audit events matching the filter, newest first.

    Raises NotAllowed, SignedOut, InvalidInput (paging, start date after end date).
    """
    check_paging(offset, limit)
    where = _conditions(flt)
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
        query = (
            select(AuditEvent, User.username)
            .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
            .where(*where)
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return Page(_rows(session, list(session.exec(query).all())), int(total), offset, limit)


def _rows(session: Session, found: list[tuple[AuditEvent, str | None]]) -> list[AuditRow]:
    events = [event for event, _ in found]
    parsed = [(_parse(e.before), _parse(e.after)) for e in events]
    labels = _Labels(session, _wanted(events, parsed))
    rows = []
    for (event, username), (raw_before, raw_after) in zip(found, parsed, strict=True):
        before, after = labels.resolve(raw_before), labels.resolve(raw_after)
        rows.append(
            AuditRow(
                event.id or 0,
                event.at,
                username,
                event.action,
                event.entity,
                event.entity_id,
                labels.label(event.entity, event.entity_id),
                before,
                after,
                describe_changes(before, after),
            )
        )
    return rows


def audit_actions(actor: Actor, *, db: Database | None = None) -> list[str]:
    """The actions recorded so far, for the filter list. Admins only. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        return sorted(session.exec(select(AuditEvent.action).distinct()).all())
