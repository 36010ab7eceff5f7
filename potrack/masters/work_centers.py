"""What admins do to work centers after creating them: list with pieces held, edit, (de)activate.

A deactivated work center vanishes from entry (the ledger refuses it) but stays in history, balances
and reports. Deactivating one that still holds pieces needs an explicit confirmation. Every change is
an audit event in its own transaction and is announced as a 'masters' change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.field_checks import check_fields
from potrack.db.engine import Database, database
from potrack.db.models import Department, OrderBalance, WorkCenter, WorkCenterDepartment
from potrack.errors import Conflict, NeedsConfirmation, NotFound
from potrack.live.announce import MASTERS, write_announced
from potrack.masters.catalog import (
    WorkCenterInfo,
    check_wc_code_free,
    clean_description,
    clean_wc_name,
    normalize_wc_code,
    wc_info,
)


@dataclass(frozen=True)
class WorkCenterOverview:
    """A work center as the admin table shows it: what it holds and which departments see it."""

    info: WorkCenterInfo
    pieces: int
    open_orders: int
    departments: tuple[str, ...]


def _work_center(session: Session, work_center_id: int) -> WorkCenter:
    wc = session.get(WorkCenter, work_center_id)
    if wc is None:
        raise NotFound('That work center does not exist.')
    return wc


def _held(session: Session, work_center_id: int) -> tuple[int, int]:
    """Pieces at the work center and the number of orders they belong to."""
    pieces, orders = session.exec(
        select(
            func.coalesce(func.sum(col(OrderBalance.qty_in) - col(OrderBalance.qty_out)), 0),
            func.coalesce(func.sum(case((col(OrderBalance.qty_in) > col(OrderBalance.qty_out), 1), else_=0)), 0),
        ).where(OrderBalance.work_center_id == work_center_id)
    ).one()
    return int(pieces), int(orders)


def list_work_centers_admin(actor: Actor, *, db: Database | None = None) -> list[WorkCenterOverview]:
    """Every work center (deactivated ones too) by code, with pieces held and the departments seeing it.

    Admins only. Raises NotAllowed, SignedOut.
    """
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        held = {
            wc_id: (int(p or 0), int(n or 0))
            for wc_id, p, n in session.exec(
                select(
                    OrderBalance.work_center_id,
                    func.sum(col(OrderBalance.qty_in) - col(OrderBalance.qty_out)),
                    func.sum(case((col(OrderBalance.qty_in) > col(OrderBalance.qty_out), 1), else_=0)),
                ).group_by(col(OrderBalance.work_center_id))
            ).all()
        }
        seen_by: dict[int, list[str]] = {}
        links = select(WorkCenterDepartment.work_center_id, Department.name).join(
            Department, col(Department.id) == col(WorkCenterDepartment.department_id)
        )
        for wc_id, dept_name in session.exec(links.order_by(col(Department.name))).all():
            seen_by.setdefault(wc_id, []).append(dept_name)
        return [
            WorkCenterOverview(wc_info(wc), *held.get(wc.id or 0, (0, 0)), tuple(seen_by.get(wc.id or 0, [])))
            for wc in session.exec(select(WorkCenter).order_by(col(WorkCenter.code))).all()
        ]


def update_work_center(
    actor: Actor, *, work_center_id: int, code: Any, name: Any, description: Any = '', db: Database | None = None
) -> WorkCenterInfo:
    """Admin only: change a work center's code, name and description; its history follows it.

    Raises NotAllowed, SignedOut, NotFound, InvalidInput (with the field), Conflict (code used).
    """
    fields = check_fields(
        {
            'code': lambda: normalize_wc_code(code),
            'name': lambda: clean_wc_name(name),
            'description': lambda: clean_description(description),
        }
    )
    clean_code, clean_name, desc = fields['code'], fields['name'], fields['description']
    db = db or database()

    def unit(session: Session) -> WorkCenterInfo:
        admin = require_admin(session, actor)
        wc = _work_center(session, work_center_id)
        check_wc_code_free(session, clean_code, other_than=work_center_id)
        before = {'code': wc.code, 'name': wc.name, 'description': wc.description}
        wc.code, wc.name, wc.description = clean_code, clean_name, desc
        session.add(wc)
        after = {'code': clean_code, 'name': clean_name, 'description': desc}
        audit.record_changes(
            session,
            actor_id=admin.id,
            action='work_center.update',
            entity='work_center',
            entity_id=work_center_id,
            before=before,
            after=after,
        )
        return wc_info(wc)

    try:
        return write_announced(db, unit, MASTERS)
    except IntegrityError:  # another admin took the code a moment earlier
        raise Conflict(f'Work center code {clean_code} is already used.', field='code') from None


def set_work_center_active(
    actor: Actor, *, work_center_id: int, active: bool, confirm: bool = False, db: Database | None = None
) -> WorkCenterInfo:
    """Admin only: deactivate (no more entries there) or reactivate a work center.

    Deactivating one that still holds pieces needs `confirm=True`.
    Raises NotAllowed, SignedOut, NotFound, NeedsConfirmation (pieces held; nothing written).
    """
    db = db or database()

    def unit(session: Session) -> WorkCenterInfo:
        admin = require_admin(session, actor)
        wc = _work_center(session, work_center_id)
        if wc.is_active == active:
            return wc_info(wc)
        pieces, orders = _held(session, work_center_id)
        if not active and pieces > 0 and not confirm:
            raise NeedsConfirmation(
                f'{wc.code} {wc.name} still holds {pieces:,} {"piece" if pieces == 1 else "pieces"} in '
                f'{orders:,} open {"order" if orders == 1 else "orders"}. Once it is deactivated nobody can '
                'record IN or OUT there; the pieces stay in balances, history and reports.',
                pieces=pieces,
                orders=orders,
            )
        audit.record(
            session,
            actor_id=admin.id,
            action='work_center.activate' if active else 'work_center.deactivate',
            entity='work_center',
            entity_id=work_center_id,
            before={'is_active': wc.is_active},
            after={'is_active': active, 'pieces_held': pieces} if pieces else {'is_active': active},
        )
        wc.is_active = active
        session.add(wc)
        return wc_info(wc)

    return write_announced(db, unit, MASTERS)
