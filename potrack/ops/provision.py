"""First-start provisioning: the default admin, work centers and departments of the original app.

Runs only on a database with no users, departments or work centers, so it never runs twice and never
touches a database that already holds data.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from potrack.accounts.users import insert_user
from potrack.config import settings
from potrack.db.engine import Database
from potrack.db.models import Department, User, WorkCenter
from potrack.masters.catalog import insert_department, insert_work_center, link_work_centers

log = logging.getLogger(__name__)

DEFAULT_ADMIN = 'admin'
DEFAULT_ADMIN_PASSWORD = 'admin123'  # noqa: S105 - the original app's default; sign-in forces a change at once
WORK_CENTERS = [
    ('WC001', 'Assembly'),
    ('WC002', 'Machining'),
    ('WC003', 'Welding'),
    ('WC004', 'Painting'),
    ('WC005', 'Quality Control'),
]
# Who sees which work center: the shop-floor departments see the stations they staff, the
# oversight departments see the whole line.
DEPARTMENTS = {
    'Engineering': ['WC001', 'WC002', 'WC003', 'WC004', 'WC005'],
    'Production': ['WC001', 'WC002', 'WC003', 'WC004'],
    'Quality Control': ['WC005'],
    'Maintenance': ['WC002', 'WC003', 'WC004'],
    'Operations': ['WC001', 'WC002', 'WC003', 'WC004', 'WC005'],
    'Management': ['WC001', 'WC002', 'WC003', 'WC004', 'WC005'],
}


def is_empty(session: Session) -> bool:
    return all(session.exec(select(model).limit(1)).first() is None for model in (User, Department, WorkCenter))


def provision(db: Database) -> bool:
    """Provision an empty database; returns True if it did, False if the database already had data."""

    def unit(session: Session) -> bool:
        if db.is_postgres:
            # Two instances starting together: the second waits, then finds the data and does nothing.
            session.connection().exec_driver_sql('SELECT pg_advisory_xact_lock(74218302)')
        if not is_empty(session):
            return False
        codes: dict[str, int] = {}
        for code, name in WORK_CENTERS:
            wc = insert_work_center(session, code=code, name=name)
            assert wc.id is not None
            codes[code] = wc.id
        management_id = None
        for name, wc_codes in DEPARTMENTS.items():
            dept = insert_department(session, name=name)
            assert dept.id is not None
            link_work_centers(session, dept.id, {codes[c] for c in wc_codes})
            if name == 'Management':
                management_id = dept.id
        env_password = settings().admin_password
        insert_user(
            session,
            username=DEFAULT_ADMIN,
            password=env_password or DEFAULT_ADMIN_PASSWORD,
            full_name='Administrator',
            is_admin=True,
            department_id=management_id,
            must_change_password=env_password is None,
            check_password=env_password is not None,
        )
        return True

    done = db.write(unit)
    if done:
        log.info(
            'provisioned an empty database: admin user, %d work centers, %d departments',
            len(WORK_CENTERS),
            len(DEPARTMENTS),
        )
    return done


def default_password_active(db: Database) -> bool:
    """True while the default admin still has to change the password it was given at first start."""
    with db.read() as session:
        admin = session.exec(select(User).where(User.username == DEFAULT_ADMIN)).first()
        return bool(admin and admin.is_active and admin.must_change_password)
