"""The models' Core tables, for the statements on hot paths (the ledger, searches, checks).

Statements built from Core columns cost less CPU than from ORM attributes (a millisecond and more per
search, a fifth of a movement's client time); one place names them all.
"""

from __future__ import annotations

from sqlalchemy import Table

from potrack.db.models import (
    AuditEvent,
    Department,
    FlowReason,
    KioskDeviceWorkCenter,
    MovementHour,
    OrderActivity,
    OrderBalance,
    OrderHeader,
    OrderTransit,
    ProductionOrder,
    ProductRoute,
    SiteSetting,
    User,
    UserSession,
    WorkCenter,
    WorkCenterDepartment,
)

MOVEMENTS: Table = ProductionOrder.__table__  # type: ignore[attr-defined]
BALANCES: Table = OrderBalance.__table__  # type: ignore[attr-defined]
ACTIVITY: Table = OrderActivity.__table__  # type: ignore[attr-defined]
HOURS: Table = MovementHour.__table__  # type: ignore[attr-defined]
USERS: Table = User.__table__  # type: ignore[attr-defined]
SESSIONS: Table = UserSession.__table__  # type: ignore[attr-defined]
CENTERS: Table = WorkCenter.__table__  # type: ignore[attr-defined]
DEPARTMENTS: Table = Department.__table__  # type: ignore[attr-defined]
LINKS: Table = WorkCenterDepartment.__table__  # type: ignore[attr-defined]
ORDERS: Table = OrderHeader.__table__  # type: ignore[attr-defined]
SETTINGS: Table = SiteSetting.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditEvent.__table__  # type: ignore[attr-defined]
TRANSIT: Table = OrderTransit.__table__  # type: ignore[attr-defined]
REASONS: Table = FlowReason.__table__  # type: ignore[attr-defined]
PRODUCT_ROUTES: Table = ProductRoute.__table__  # type: ignore[attr-defined]
DEVICE_PINS: Table = KioskDeviceWorkCenter.__table__  # type: ignore[attr-defined]
