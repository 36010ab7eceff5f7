"""The demo operators: one active operator per active department, created or reset, and printed.

`demo_operators` gives each a fresh password; `print_operators` shows them (and how to sign in as an
administrator). SHOP_FLOOR_DEPARTMENTS weigh how often a department's operator records at a work
center when the line is planned (`orders.make_line`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from potrack.accounts import security
from potrack.accounts.users import end_sessions, insert_user
from potrack.common import audit
from potrack.db.engine import Database
from potrack.db.models import Department, User, WorkCenter, WorkCenterDepartment
from potrack.ops.provision import DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, default_password_active

# Departments that staff the stations do most of the entries; the others (engineering, management …)
# may see the same work centers and now and then record something too.
SHOP_FLOOR_DEPARTMENTS = {'production': 10.0, 'quality control': 10.0}
OTHER_DEPARTMENT_WEIGHT = 1.0


@dataclass(frozen=True)
class DemoOperator:
    user_id: int
    username: str
    password: str
    department: str
    work_center_ids: tuple[int, ...]
    work_center_codes: tuple[str, ...]


def _slug(name: str) -> str:
    chars = [c if c.isascii() and c.isalnum() else '-' for c in name.strip().lower()]
    return '-'.join(part for part in ''.join(chars).split('-') if part)[:35].strip('-') or 'dept'


def demo_operators(db: Database) -> list[DemoOperator]:
    """One active operator per active department, with a fresh password (created or reset)."""

    def unit(session: Session) -> list[DemoOperator]:
        made: list[DemoOperator] = []
        departments = session.exec(select(Department).where(Department.is_active).order_by(Department.name)).all()
        for dept in departments:
            assert dept.id is not None
            username = f'demo-{_slug(dept.name)}'
            password = security.generate_password()
            user = session.exec(select(User).where(func.lower(User.username) == username)).first()
            if user is None:
                user = insert_user(
                    session,
                    username=username,
                    password=password,
                    full_name=f'Demo Operator ({dept.name})',
                    department_id=dept.id,
                    must_change_password=False,
                )
            else:
                # Reset it so the password printed below is the one that works.
                user.password_hash = security.hash_password(password)
                user.department_id, user.is_admin, user.is_active = dept.id, False, True
                user.must_change_password = False
                session.add(user)
                session.flush()
                assert user.id is not None
                end_sessions(session, user.id, 'password reset')
                audit.record(
                    session,
                    actor_id=None,
                    action='user.reset_password',
                    entity='user',
                    entity_id=user.id,
                    after={'by': 'potrack demo', 'department_id': dept.id},
                )
            assert user.id is not None
            wcs = session.exec(
                select(WorkCenter.id, WorkCenter.code)
                .join(WorkCenterDepartment, col(WorkCenterDepartment.work_center_id) == WorkCenter.id)
                .where(WorkCenterDepartment.department_id == dept.id, WorkCenter.is_active)
                .order_by(WorkCenter.code)
            ).all()
            made.append(
                DemoOperator(
                    user.id,
                    user.username,
                    password,
                    dept.name,
                    tuple(wc_id for wc_id, _ in wcs if wc_id is not None),
                    tuple(code for _, code in wcs),
                )
            )
        return made

    return db.write(unit)


def print_operators(db: Database, operators: list[DemoOperator], out: Callable[[str], None]) -> None:
    rows = [('username', 'password', 'department', 'work centers')]
    rows += [(o.username, o.password, o.department, ' '.join(o.work_center_codes) or '-') for o in operators]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out(f'{len(operators)} demo operators, one per department; each sees its department’s work centers:')
    for i, r in enumerate(rows):
        out('  ' + '  '.join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            out('  ' + '  '.join('-' * w for w in widths))
    with db.read() as session:
        admins = session.exec(select(User.username).where(User.is_admin, User.is_active).order_by(User.username)).all()
    if default_password_active(db):
        out(
            f'Administrator: {DEFAULT_ADMIN} / {DEFAULT_ADMIN_PASSWORD} — you must choose a new password '
            'at the first sign-in; admins see every work center.'
        )
    elif admins:
        out(
            f'Administrator(s): {", ".join(admins)} with the password you set '
            '(forgotten? `potrack create-admin NAME` resets it); admins see every work center.'
        )
    else:
        out('No active administrator: create one with `potrack create-admin NAME`.')
