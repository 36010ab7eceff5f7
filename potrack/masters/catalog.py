"""Master data: departments, work centers and which work centers each department sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.common import audit
from potrack.common.actors import Actor, load_user, require_admin, visible_work_center_ids
from potrack.common.field_checks import check_fields
from potrack.common.validation import clean_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, User, WorkCenter, WorkCenterDepartment
from potrack.errors import Conflict, InvalidInput, NotFound
from potrack.live.announce import MASTERS, write_announced

WORK_CENTER_CODE_RE = re.compile(r'[A-Z0-9][A-Z0-9_-]{0,19}')
NAME_MAX_LEN = 60
DESCRIPTION_MAX_LEN = 200


@dataclass(frozen=True)
class WorkCenterInfo:
    id: int
    code: str
    name: str
    description: str
    is_active: bool

    @property
    def label(self) -> str:
        return f'{self.code} {self.name}'


@dataclass(frozen=True)
class DepartmentInfo:
    id: int
    name: str
    description: str
    is_active: bool
    work_center_ids: tuple[int, ...]
    user_count: int = 0  # users (active or not) who belong to it


def wc_info(wc: WorkCenter) -> WorkCenterInfo:
    assert wc.id is not None
    return WorkCenterInfo(wc.id, wc.code, wc.name, wc.description, wc.is_active)


def normalize_wc_code(raw: Any) -> str:
    text = raw.strip().upper() if isinstance(raw, str) else ''
    if not WORK_CENTER_CODE_RE.fullmatch(text):
        raise InvalidInput('A work center code has 1 to 20 letters, digits, - or _ (e.g. WC006).', field='code')
    return text


def clean_department_name(raw: Any) -> str:
    return clean_text(raw, field='name', label='The department name', max_len=NAME_MAX_LEN)


def clean_description(raw: Any) -> str:
    return clean_text(raw, field='description', label='The description', max_len=DESCRIPTION_MAX_LEN, required=False)


def check_department_name_free(session: Session, name: str, *, other_than: int | None = None) -> None:
    """Refuse a department name already used, whatever its case (the database has a unique lower(name))."""
    query = select(Department.id).where(func.lower(Department.name) == name.lower())
    if other_than is not None:
        query = query.where(col(Department.id) != other_than)
    if session.exec(query).first() is not None:
        raise Conflict(f'A department named "{name}" already exists.', field='name')


def insert_department(session: Session, *, name: Any, description: Any = '', actor_id: int | None = None) -> Department:
    clean = clean_department_name(name)
    desc = clean_description(description)
    check_department_name_free(session, clean)
    dept = Department(name=clean, description=desc)
    session.add(dept)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action='department.create',
        entity='department',
        entity_id=dept.id,
        after={'name': clean},
    )
    return dept


def clean_wc_name(raw: Any) -> str:
    return clean_text(raw, field='name', label='The work center name', max_len=NAME_MAX_LEN)


def check_wc_code_free(session: Session, code: str, *, other_than: int | None = None) -> None:
    """Refuse a work center code already used; codes are stored upper-case, so this ignores case."""
    query = select(WorkCenter.id).where(func.upper(WorkCenter.code) == code)
    if other_than is not None:
        query = query.where(col(WorkCenter.id) != other_than)
    if session.exec(query).first() is not None:
        raise Conflict(f'Work center code {code} is already used.', field='code')


def insert_work_center(
    session: Session, *, code: Any, name: Any, description: Any = '', actor_id: int | None = None
) -> WorkCenter:
    clean_code = normalize_wc_code(code)
    clean_name = clean_wc_name(name)
    desc = clean_description(description)
    check_wc_code_free(session, clean_code)
    wc = WorkCenter(code=clean_code, name=clean_name, description=desc)
    session.add(wc)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action='work_center.create',
        entity='work_center',
        entity_id=wc.id,
        after={'code': clean_code, 'name': clean_name},
    )
    return wc


def link_work_centers(session: Session, department_id: int, work_center_ids: set[int]) -> None:
    """Make `work_center_ids` exactly the work centers the department sees."""
    session.execute(delete(WorkCenterDepartment).where(col(WorkCenterDepartment.department_id) == department_id))
    for wc_id in sorted(work_center_ids):
        session.add(WorkCenterDepartment(work_center_id=wc_id, department_id=department_id))
    session.flush()


def list_work_centers(actor: Actor, *, active_only: bool = False, db: Database | None = None) -> list[WorkCenterInfo]:
    """Work centers the actor may see, by code. Raises SignedOut."""
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        ids = visible_work_center_ids(session, user, active_only=active_only)
        if not ids:
            return []
        rows = session.exec(select(WorkCenter).where(col(WorkCenter.id).in_(ids)).order_by(WorkCenter.code)).all()
        return [wc_info(wc) for wc in rows]


def list_departments(actor: Actor, *, db: Database | None = None) -> list[DepartmentInfo]:
    """Every department (deactivated ones too) with its work centers and user count.

    Admins only. Raises NotAllowed, SignedOut.
    """
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        links = session.exec(select(WorkCenterDepartment)).all()
        by_dept: dict[int, list[int]] = {}
        for link in links:
            by_dept.setdefault(link.department_id, []).append(link.work_center_id)
        counts = dict(
            session.exec(
                select(User.department_id, func.count())
                .where(col(User.department_id).is_not(None))
                .group_by(col(User.department_id))
            ).all()
        )
        return [
            DepartmentInfo(
                d.id or 0,
                d.name,
                d.description,
                d.is_active,
                tuple(sorted(by_dept.get(d.id or 0, []))),
                int(counts.get(d.id, 0)),
            )
            for d in session.exec(select(Department).order_by(Department.name)).all()
        ]


def create_department(
    actor: Actor,
    *,
    name: Any,
    description: Any = '',
    work_center_ids: list[int] | None = None,
    db: Database | None = None,
) -> DepartmentInfo:
    """Admin only: a new department seeing `work_center_ids`. Raises NotAllowed, InvalidInput, Conflict."""
    check_fields({'name': lambda: clean_department_name(name), 'description': lambda: clean_description(description)})
    db = db or database()

    def unit(session: Session) -> DepartmentInfo:
        admin = require_admin(session, actor)
        dept = insert_department(session, name=name, description=description, actor_id=admin.id)
        assert dept.id is not None
        wanted = set(work_center_ids or [])
        check_work_centers_exist(session, wanted)
        link_work_centers(session, dept.id, wanted)
        return DepartmentInfo(dept.id, dept.name, dept.description, dept.is_active, tuple(sorted(wanted)))

    try:
        return write_announced(db, unit, MASTERS)
    except IntegrityError:  # another admin created the same name a moment earlier
        raise Conflict(f'A department named "{clean_department_name(name)}" already exists.', field='name') from None


def check_work_centers_exist(session: Session, wanted: set[int]) -> None:
    found = session.exec(select(WorkCenter.id).where(col(WorkCenter.id).in_(wanted))).all() if wanted else []
    if len(found) != len(wanted):
        raise NotFound('One of the chosen work centers does not exist.', field='work_centers')


def create_work_center(
    actor: Actor, *, code: Any, name: Any, description: Any = '', db: Database | None = None
) -> WorkCenterInfo:
    """Admin only: a new work center (code stored upper-case). Raises NotAllowed, InvalidInput, Conflict."""
    check_fields(
        {
            'code': lambda: normalize_wc_code(code),
            'name': lambda: clean_wc_name(name),
            'description': lambda: clean_description(description),
        }
    )
    db = db or database()

    def unit(session: Session) -> WorkCenterInfo:
        admin = require_admin(session, actor)
        return wc_info(insert_work_center(session, code=code, name=name, description=description, actor_id=admin.id))

    try:
        return write_announced(db, unit, MASTERS)
    except IntegrityError:  # another admin created the same code a moment earlier
        raise Conflict(f'Work center code {normalize_wc_code(code)} is already used.', field='code') from None
