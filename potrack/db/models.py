"""The tables, named as in the original Flask app."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlmodel import Field, SQLModel

from potrack.config import ORDER_NUMBER_MAX_LEN, REASON_MAX_LEN, REQUEST_ID_MAX_LEN
from potrack.db.types import UTCDateTime, utcnow

IN = 'IN'
OUT = 'OUT'
# How far order_activity.last_movement_at may lag behind an order's newest movement (see OrderActivity).
ACTIVITY_STEP = timedelta(minutes=5)


def _ts(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Department(SQLModel, table=True):
    __tablename__ = 'department'
    __table_args__ = (Index('ux_department_name_lower', func.lower('name'), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(60), nullable=False))
    description: str = Field(default='', sa_column=Column(String(200), nullable=False, server_default=''))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class WorkCenter(SQLModel, table=True):
    __tablename__ = 'work_center'

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), nullable=False, unique=True))  # stored upper-case
    name: str = Field(sa_column=Column(String(60), nullable=False))
    description: str = Field(default='', sa_column=Column(String(200), nullable=False, server_default=''))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class WorkCenterDepartment(SQLModel, table=True):
    """Which work centers a department sees."""

    __tablename__ = 'workcenter_department'

    work_center_id: int = Field(foreign_key='work_center.id', primary_key=True)
    department_id: int = Field(foreign_key='department.id', primary_key=True, index=True)


class User(SQLModel, table=True):
    __tablename__ = 'user'

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(40), nullable=False, unique=True))  # stored lower-case
    full_name: str = Field(default='', sa_column=Column(String(100), nullable=False, server_default=''))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    password_hash: str = Field(sa_column=Column(String(100), nullable=False))
    is_admin: bool = Field(default=False)
    department_id: int | None = Field(default=None, foreign_key='department.id', index=True)
    is_active: bool = Field(default=True)
    must_change_password: bool = Field(default=False)
    last_signin_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    # Kiosk sign-in on an enrolled device (0008). The badge is a keyboard-wedge string, looked up by its
    # keyed hash (HMAC-SHA256, so it can be found, never read back); the PIN is bcrypt, like a password.
    badge_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    pin_hash: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    language: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))  # NULL: the device's
    # An index, not a column constraint: SQLite's ADD COLUMN cannot add a UNIQUE column (0008).
    __table_args__ = (Index('ux_user_badge_hash', 'badge_hash', unique=True),)


class ProductionOrder(SQLModel, table=True):
    """The movement ledger: append-only, one row per IN or OUT, and one per reversal.

    A recorded movement has a positive quantity. A reversal repeats the type of the movement it
    reverses with the quantity negated and `reverses_id` set, so that SUM(quantity) per type is always
    the net IN and net OUT: balances, reports and the consistency check need no special cases.
    """

    __tablename__ = 'production_order'
    __table_args__ = (
        CheckConstraint("movement_type IN ('IN', 'OUT')", name='ck_production_order_type'),
        CheckConstraint(
            '(reverses_id IS NULL AND quantity > 0) OR (reverses_id IS NOT NULL AND quantity < 0)',
            name='ck_production_order_quantity_sign',
        ),
        Index(
            'ix_production_order_order_number',
            'order_number',
            'created_at',
            postgresql_ops={'order_number': 'text_pattern_ops'},
        ),
        Index('ix_production_order_wc_created', 'work_center_id', 'created_at'),
        Index('ix_production_order_user_created', 'user_id', 'created_at'),
        CheckConstraint(
            "disposition IS NULL OR (movement_type = 'OUT' AND disposition IN ('sent', 'scrap', 'rework') "
            "AND (disposition = 'sent' OR reason_id IS NOT NULL))",
            name='ck_production_order_disposition',
        ),
        CheckConstraint(
            '(quantity > 0 AND transit_qty BETWEEN 0 AND quantity) '
            'OR (quantity < 0 AND transit_qty BETWEEN quantity AND 0)',
            name='ck_production_order_transit_qty',
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer(), 'sqlite'), primary_key=True)
    )
    order_number: str = Field(sa_column=Column(String(ORDER_NUMBER_MAX_LEN), nullable=False))
    work_center_id: int = Field(foreign_key='work_center.id')
    quantity: int
    movement_type: str = Field(sa_column=Column(String(3), nullable=False))
    user_id: int = Field(foreign_key='user.id')
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    request_id: str = Field(sa_column=Column(String(REQUEST_ID_MAX_LEN), nullable=False, unique=True))
    reverses_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), 'sqlite'),
            ForeignKey('production_order.id'),
            nullable=True,
            unique=True,
        ),
    )
    reason: str | None = Field(default=None, sa_column=Column(String(REASON_MAX_LEN), nullable=True))
    # The flow (ledger/flow.py). An OUT's disposition: 'sent' on, 'scrap' or 'rework'; NULL for an IN and for
    # an OUT recorded before the flow was tracked. A reversal repeats its original's flow columns.
    disposition: str | None = Field(default=None, sa_column=Column(String(6), nullable=True))
    # Where a 'sent' or 'rework' OUT put its pieces in transit (order_transit's work center); NULL: nowhere.
    to_work_center_id: int | None = Field(default=None, foreign_key='work_center.id')
    reason_id: int | None = Field(default=None, foreign_key='flow_reason.id')  # scrap and rework: why
    # Pieces this movement put into transit (an OUT to `to_work_center_id`) or took out of it (an IN at its
    # own work center); signed like `quantity`. An IN's remainder was released (first step) or over-received.
    transit_qty: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))


class OrderBalance(SQLModel, table=True):
    """Pieces of one order at one work center; derived from the ledger in the same transaction."""

    __tablename__ = 'order_balance'
    __table_args__ = (
        CheckConstraint('0 <= qty_out AND qty_out <= qty_in', name='ck_order_balance_non_negative'),
        CheckConstraint(
            '0 <= qty_scrap AND 0 <= qty_rework AND qty_scrap + qty_rework <= qty_out', name='ck_order_balance_flow'
        ),
        Index(
            'ix_order_balance_order_number',
            'order_number',
            postgresql_ops={'order_number': 'text_pattern_ops'},
            # Index-only scans: the newest-first search's bound (newest_first.newest_first_plan), and search
            # totals that add up the pairs' tallies (ledger/totals.py: 50,000 pairs in 16 ms, against 48 read
            # from the table, which the ledger's updates keep twice the size of its live rows).
            postgresql_include=[
                'work_center_id',
                'last_movement_at',
                'first_movement_at',
                'moves_in',
                'moves_out',
                'qty_in',
                'qty_out',
            ],
        ),
    )

    work_center_id: int = Field(foreign_key='work_center.id', primary_key=True)
    order_number: str = Field(sa_column=Column(String(ORDER_NUMBER_MAX_LEN), primary_key=True))
    qty_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    qty_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    last_movement_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_user_id: int | None = Field(default=None, foreign_key='user.id')
    # Of qty_out: the pieces scrapped here, and sent back for rework (the rest were sent on).
    qty_scrap: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    qty_rework: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    # The pair's tally (ledger/tallies.py), kept by the ledger with the balance: how many IN and OUT movements
    # (reversals included) and the oldest movement time. With last_movement_at, the newest, they say whether all
    # of the pair's movements lie inside a date range, so search totals can take its numbers whole.
    moves_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    moves_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    first_movement_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class MovementHour(SQLModel, table=True):
    """How many IN and OUT movements each work center recorded in an hour (UTC), and their quantities; kept by
    the ledger in the movement's transaction (ledger/tallies.py). Search totals without an order filter add these
    up (a few thousand rows) instead of counting a million movements.

    `shard`: the movement's id modulo HOUR_SHARDS on PostgreSQL, so that writers at one work center in the same
    hour do not queue on one row lock until they commit; 0 on SQLite, which writes one transaction at a time.
    """

    __tablename__ = 'movement_hour'

    work_center_id: int = Field(foreign_key='work_center.id', primary_key=True)
    hour: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    shard: int = Field(default=0, primary_key=True)
    moves_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    moves_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    qty_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    qty_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))


class OrderTransit(SQLModel, table=True):
    """Pieces of one order on their way to one work center: sent there ('sent' on from the step before it,
    or back to it for 'rework') and not yet received. Derived from the ledger in the movement's transaction,
    like order_balance; the CHECK refuses a negative transit whatever the code does."""

    __tablename__ = 'order_transit'
    __table_args__ = (
        CheckConstraint(
            '0 <= qty_received AND qty_received <= qty_sent AND 0 <= qty_opening', name='ck_order_transit_non_negative'
        ),
        # The kiosk's "sent to you" list: the pending rows of one work center (pending_since is set iff
        # something is in transit), oldest first.
        Index(
            'ix_order_transit_pending',
            'work_center_id',
            'pending_since',
            postgresql_where=text('pending_since IS NOT NULL'),
            sqlite_where=text('pending_since IS NOT NULL'),
        ),
    )

    order_number: str = Field(sa_column=Column(String(ORDER_NUMBER_MAX_LEN), primary_key=True))
    work_center_id: int = Field(foreign_key='work_center.id', primary_key=True)  # where the pieces are going
    qty_sent: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    qty_received: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    # In transit when the flow began to be tracked (migration 0007): part of qty_sent, sent by no movement.
    qty_opening: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default='0'))
    pending_since: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # transit went above 0
    last_from_id: int | None = Field(default=None, foreign_key='work_center.id')  # the latest sender
    last_sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


SENT, SCRAP, REWORK = 'sent', 'scrap', 'rework'
DISPOSITIONS = (SENT, SCRAP, REWORK)
REASON_KINDS = (SCRAP, REWORK, 'both')
# The reasons a new site starts with (migration 0007): (code, label, kind); admins rename or retire them.
DEFAULT_FLOW_REASONS = (
    ('DIM', 'Dimension out of tolerance', 'both'),
    ('SURF', 'Surface defect', 'both'),
    ('MAT', 'Material defect', SCRAP),
    ('SETUP', 'Set-up piece', SCRAP),
)


class FlowReason(SQLModel, table=True):
    """Why pieces were scrapped or sent back for rework: the list admins keep (Admin → Reasons)."""

    __tablename__ = 'flow_reason'
    __table_args__ = (CheckConstraint("kind IN ('scrap', 'rework', 'both')", name='ck_flow_reason_kind'),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    label: str = Field(sa_column=Column(String(80), nullable=False))
    kind: str = Field(sa_column=Column(String(6), nullable=False))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ProductRoute(SQLModel, table=True):
    """The route an order of this product gets when it arrives without one."""

    __tablename__ = 'product_route'

    product_code: str = Field(sa_column=Column(String(40), primary_key=True))
    route: str = Field(sa_column=Column(String(400), nullable=False))
    updated_by_id: int | None = Field(default=None, foreign_key='user.id')
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class OrderActivity(SQLModel, table=True):
    """The newest movement time of each order, at most ACTIVITY_STEP behind; written by the ledger.

    For newest-first searches by order-number prefix (newest_first.newest_first_plan): a prefix selects
    one row per order here, against one per (work center, order) in order_balance, five times fewer to
    read. To spare the write path a row lock per movement, the ledger moves the time on only when it is
    more than ACTIVITY_STEP behind, so searches add that step to it.
    """

    __tablename__ = 'order_activity'
    __table_args__ = (
        Index(
            'ix_order_activity_order_number',
            'order_number',
            postgresql_ops={'order_number': 'text_pattern_ops'},
            postgresql_include=['last_movement_at'],
        ),
    )

    order_number: str = Field(sa_column=Column(String(ORDER_NUMBER_MAX_LEN), primary_key=True))
    last_movement_at: datetime = Field(sa_column=_ts())


ORDER_OPEN, ORDER_CLOSED, ORDER_CANCELLED = 'open', 'closed', 'cancelled'
ORDER_STATUSES = (ORDER_OPEN, ORDER_CLOSED, ORDER_CANCELLED)
# Where an order in the book came from.
ORDER_SOURCES = ('typed', 'imported', 'api', 'kiosk', 'history')


class OrderHeader(SQLModel, table=True):
    """The order book: one row per known production order (the ledger, `production_order`, keeps its
    seed name and holds the movements). Its number is normalized as the ledger normalizes it."""

    __tablename__ = 'order_header'
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed', 'cancelled')", name='ck_order_header_status'),
        CheckConstraint("source IN ('typed', 'imported', 'api', 'kiosk', 'history')", name='ck_order_header_source'),
        CheckConstraint('planned_quantity IS NULL OR planned_quantity > 0', name='ck_order_header_planned'),
        Index(
            'ix_order_header_number_pattern',
            'order_number',
            postgresql_ops={'order_number': 'text_pattern_ops'},
            postgresql_include=['due_date'],  # a prefix search counts and sorts its matches from the index alone
        ),
        Index(
            'ix_order_header_product',
            'product_code',
            postgresql_ops={'product_code': 'text_pattern_ops'},
        ),
        # The orders page opens on the open orders, soonest due first: a page is read in this index's order.
        Index('ix_order_header_status_due', 'status', 'due_date', 'order_number'),
        # The orders page's order (soonest due first), read in index order, so a page is 50 index entries.
        Index('ix_order_header_due_number', 'due_date', 'order_number'),
        # "Contains" searches (ILIKE '%…%') on PostgreSQL: trigram indexes (migration 0005 makes plain ones
        # where pg_trgm cannot be had, and on SQLite, which scans a small book quickly enough).
        *(
            Index(f'ix_order_header_trgm_{name}', name, postgresql_using='gin', postgresql_ops={name: 'gin_trgm_ops'})
            for name in ('order_number', 'product_code', 'product_description')
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_number: str = Field(sa_column=Column(String(ORDER_NUMBER_MAX_LEN), nullable=False, unique=True))
    product_code: str = Field(default='', sa_column=Column(String(40), nullable=False, server_default=''))
    product_description: str = Field(default='', sa_column=Column(String(200), nullable=False, server_default=''))
    planned_quantity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # The work centers' codes in order, joined by '>' as the ERP sends them (the flow issue reads it).
    route: str = Field(default='', sa_column=Column(String(400), nullable=False, server_default=''))
    status: str = Field(default=ORDER_OPEN, sa_column=Column(String(10), nullable=False, server_default=ORDER_OPEN))
    source: str = Field(sa_column=Column(String(10), nullable=False))
    notes: str = Field(default='', sa_column=Column(String(500), nullable=False, server_default=''))
    created_by_id: int | None = Field(default=None, foreign_key='user.id')
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_by_id: int | None = Field(default=None, foreign_key='user.id')
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class SiteSetting(SQLModel, table=True):
    """A setting of the whole site that admins change in the app (Admin → Settings); absent = default."""

    __tablename__ = 'site_setting'

    key: str = Field(sa_column=Column(String(40), primary_key=True))
    value: str = Field(sa_column=Column(String(400), nullable=False))
    updated_by_id: int | None = Field(default=None, foreign_key='user.id')
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, when, with the before and after that matter (JSON text)."""

    __tablename__ = 'audit_event'
    __table_args__ = (Index('ix_audit_event_entity', 'entity', 'entity_id'),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer(), 'sqlite'), primary_key=True)
    )
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    actor_id: int | None = Field(default=None, foreign_key='user.id', index=True)
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    entity: str = Field(sa_column=Column(String(40), nullable=False))
    entity_id: str = Field(sa_column=Column(String(64), nullable=False))
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class UserSession(SQLModel, table=True):
    """A signed-in browser. The browser holds a random token; only its SHA-256 is stored here."""

    __tablename__ = 'user_session'

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(foreign_key='user.id', index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    end_reason: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    source: str = Field(default='', sa_column=Column(String(64), nullable=False, server_default=''))
    device_id: int | None = Field(default=None, foreign_key='kiosk_device.id')  # opened by badge/PIN there


class KioskDevice(SQLModel, table=True):
    """A browser enrolled as a kiosk: its credential (a long random token in a cookie; only its SHA-256 here),
    its name, the work centers it is pinned to and how it behaves. An admin creates it with a one-time
    enrollment code (hashed too) that the device types or scans once."""

    __tablename__ = 'kiosk_device'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(60), nullable=False))
    credential_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, unique=True))
    enroll_code_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, unique=True))
    enroll_expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    default_action: str = Field(default=IN, sa_column=Column(String(3), nullable=False, server_default=IN))
    muted: bool = Field(default=False)
    # 'entry': the operator is signed out after each saved entry; 'idle': after the idle limit
    sign_out_after: str = Field(default='idle', sa_column=Column(String(5), nullable=False, server_default='idle'))
    language: str = Field(default='en', sa_column=Column(String(8), nullable=False, server_default='en'))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    created_by_id: int | None = Field(default=None, foreign_key='user.id')
    enrolled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_seen_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    __table_args__ = (
        CheckConstraint("default_action IN ('IN', 'OUT')", name='ck_kiosk_device_default_action'),
        CheckConstraint("sign_out_after IN ('entry', 'idle')", name='ck_kiosk_device_sign_out_after'),
    )


class KioskDeviceWorkCenter(SQLModel, table=True):
    """The work centers a device is pinned to (none: every work center its operator's department sees)."""

    __tablename__ = 'kiosk_device_work_center'

    device_id: int = Field(foreign_key='kiosk_device.id', primary_key=True)
    work_center_id: int = Field(foreign_key='work_center.id', primary_key=True, index=True)


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API, acting as its user. Only the SHA-256 of the token is stored."""

    __tablename__ = 'api_token'

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key='user.id', index=True)
    name: str = Field(sa_column=Column(String(60), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    created_by: int | None = Field(default=None, foreign_key='user.id')
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class SigninAccount(SQLModel, table=True):
    """Recent failed sign-ins against one account name, and when its next attempt may come (accounts/throttle).

    Keyed `user:<id>` for an existing user (user_id set) and `name:<HMAC of the typed name>` for a name
    that matches nobody: both are slowed down alike, and a typed name is never stored.
    """

    __tablename__ = 'signin_account'

    account_key: str = Field(sa_column=Column(String(72), primary_key=True))
    user_id: int | None = Field(default=None, foreign_key='user.id', index=True)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_column=_ts(index=True))
    next_attempt_at: datetime = Field(sa_column=_ts())


class SigninSource(SQLModel, table=True):
    """Recent failed sign-ins from one address against one account name (accounts/throttle)."""

    __tablename__ = 'signin_source'

    source: str = Field(sa_column=Column(String(64), primary_key=True))
    account_key: str = Field(sa_column=Column(String(72), primary_key=True))
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_column=_ts(index=True))
