"""What admins do to departments after creating them: rename, deactivate, choose their work centers.

A department's users see exactly the work centers linked to it, and only while it is active. Every
change is an audit event in its own transaction and is announced as a 'masters' change, so open kiosks
and admin tables re-read at once; the ledger checks the link again at every entry anyway.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.field_checks import check_fields
from potrack.db.engine import Database, database
from potrack.db.models import Department, User, WorkCenter, WorkCenterDepartment
from potrack.errors import Conflict, NotFound
from potrack.live.announce import MASTERS, write_announced
from potrack.masters.catalog import (
    DepartmentInfo,
    check_department_name_free,
    check_work_centers_exist,
    clean_department_name,
    clean_description,
    link_work_centers,
)


def _department(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound('That department does not exist.')
    return dept


def _linked_ids(session: Session, department_id: int) -> set[int]:
    query = select(WorkCenterDepartment.work_center_id).where(WorkCenterDepartment.department_id == department_id)
    return set(session.exec(query).all())


def _info(session: Session, dept: Department) -> DepartmentInfo:
    assert dept.id is not None
    users = session.exec(select(User.id).where(User.department_id == dept.id)).all()
    linked = tuple(sorted(_linked_ids(session, dept.id)))
    return DepartmentInfo(dept.id, dept.name, dept.description, dept.is_active, linked, len(users))


def _codes(session: Session, ids: set[int]) -> list[str]:
    if not ids:
        return []
    return sorted(session.exec(select(WorkCenter.code).where(col(WorkCenter.id).in_(ids))).all())


def update_department(
    actor: Actor, *, department_id: int, name: Any, description: Any = '', db: Database | None = None
) -> DepartmentInfo:
    """Admin only: rename a department and change its description (names are unique ignoring case).

    Raises NotAllowed, SignedOut, NotFound, InvalidInput (with the field), Conflict (name taken).
    """
    fields = check_fields(
        {'name': lambda: clean_department_name(name), 'description': lambda: clean_description(description)}
    )
    clean, desc = fields['name'], fields['description']
    db = db or database()

    def unit(session: Session) -> DepartmentInfo:
        admin = require_admin(session, actor)
        dept = _department(session, department_id)
        check_department_name_free(session, clean, other_than=department_id)
        before = {'name': dept.name, 'description': dept.description}
        dept.name, dept.description = clean, desc
        session.add(dept)
        after = {'name': clean, 'description': desc}
        audit.record_changes(
            session,
            actor_id=admin.id,
            action='department.update',
            entity='department',
            entity_id=department_id,
            before=before,
            after=after,
        )
        session.flush()
        return _info(session, dept)

    try:
        return write_announced(db, unit, MASTERS)
    except IntegrityError:  # another admin took the name a moment earlier
        raise Conflict(f'A department named "{clean}" already exists.', field='name') from None


def set_department_active(
    actor: Actor, *, department_id: int, active: bool, db: Database | None = None
) -> DepartmentInfo:
    """Admin only: deactivate (its users then see no work centers) or reactivate a department.

    Raises NotAllowed, SignedOut, NotFound.
    """
    db = db or database()

    def unit(session: Session) -> DepartmentInfo:
        admin = require_admin(session, actor)
        dept = _department(session, department_id)
        if dept.is_active != active:
            audit.record(
                session,
                actor_id=admin.id,
                action='department.activate' if active else 'department.deactivate',
                entity='department',
                entity_id=department_id,
                before={'is_active': dept.is_active},
                after={'is_active': active},
            )
            dept.is_active = active
            session.add(dept)
        return _info(session, dept)

    return write_announced(db, unit, MASTERS)


def set_department_work_centers(
    actor: Actor, *, department_id: int, work_center_ids: list[int], db: Database | None = None
) -> DepartmentInfo:
    """Admin only: make `work_center_ids` exactly the work centers the department's users see.

    Takes effect at the department's next action and on its open kiosks at once.
    Raises NotAllowed, SignedOut, NotFound (department or a work center).
    """
    wanted = {int(i) for i in work_center_ids}
    db = db or database()

    def unit(session: Session) -> DepartmentInfo:
        admin = require_admin(session, actor)
        dept = _department(session, department_id)
        check_work_centers_exist(session, wanted)
        before = _linked_ids(session, department_id)
        if before != wanted:
            link_work_centers(session, department_id, wanted)
            audit.record(
                session,
                actor_id=admin.id,
                action='department.work_centers',
                entity='department',
                entity_id=department_id,
                before={'work_centers': _codes(session, before)},
                after={'work_centers': _codes(session, wanted)},
            )
        return _info(session, dept)

    return write_announced(db, unit, MASTERS)
