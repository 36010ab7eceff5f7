"""The flow between work centers: OUT dispositions, pieces in transit, scrap and rework with reasons

production_order gains the flow columns (disposition, to_work_center_id, reason_id, transit_qty), all
empty on the movements already there: an OUT recorded before is an OUT "sent on" that put nothing in
transit. order_balance gains qty_scrap and qty_rework (0). New tables: order_transit, flow_reason (with
four common reasons an admin can rename or retire), product_route.

So that a running order keeps moving, each open order with a route gets its opening transit: per route
step after the first, what the step before it sent on and this step has not received (never below 0),
as `qty_opening` of that step's transit row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00
"""

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

import sqlalchemy as sa
from alembic import op

from potrack.db.models import DEFAULT_FLOW_REASONS
from potrack.db.types import UTCDateTime, utcnow

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A restore of an older backup over a newer database leaves these behind (see 0005).
    for table in ('order_transit', 'product_route', 'flow_reason'):
        op.execute(f'DROP TABLE IF EXISTS {table}')
    op.create_table(
        'flow_reason',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=6), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('scrap', 'rework', 'both')", name='ck_flow_reason_kind'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'product_route',
        sa.Column('product_code', sa.String(length=40), nullable=False),
        sa.Column('route', sa.String(length=400), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('product_code'),
    )
    op.create_table(
        'order_transit',
        sa.Column('order_number', sa.String(length=40), nullable=False),
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.Column('qty_sent', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('qty_received', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('qty_opening', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('pending_since', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_from_id', sa.Integer(), nullable=True),
        sa.Column('last_sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            '0 <= qty_received AND qty_received <= qty_sent AND 0 <= qty_opening', name='ck_order_transit_non_negative'
        ),
        sa.ForeignKeyConstraint(['work_center_id'], ['work_center.id']),
        sa.ForeignKeyConstraint(['last_from_id'], ['work_center.id']),
        sa.PrimaryKeyConstraint('order_number', 'work_center_id'),
    )
    op.create_index(
        'ix_order_transit_pending',
        'order_transit',
        ['work_center_id', 'pending_since'],
        postgresql_where=sa.text('pending_since IS NOT NULL'),
        sqlite_where=sa.text('pending_since IS NOT NULL'),
    )
    _flow_columns()
    # A batch copy on SQLite (to add a CHECK): nothing refers to order_balance, so the copy is safe.
    with op.batch_alter_table('order_balance') as batch:
        batch.add_column(sa.Column('qty_scrap', sa.BigInteger(), server_default='0', nullable=False))
        batch.add_column(sa.Column('qty_rework', sa.BigInteger(), server_default='0', nullable=False))
        batch.create_check_constraint(
            'ck_order_balance_flow', '0 <= qty_scrap AND 0 <= qty_rework AND qty_scrap + qty_rework <= qty_out'
        )
    now = utcnow()
    reasons = sa.table(
        'flow_reason',
        sa.column('code', sa.String),
        sa.column('label', sa.String),
        sa.column('kind', sa.String),
        sa.column('is_active', sa.Boolean),
        sa.column('created_at', UTCDateTime()),
    )
    op.bulk_insert(
        reasons,
        [
            {'code': c, 'label': label, 'kind': k, 'is_active': True, 'created_at': now}
            for c, label, k in DEFAULT_FLOW_REASONS
        ],
    )
    _opening_transit()
    # The orders page opens on the open orders by due date: with the number in the index too, a page is an
    # index-only read (bench/flow_reads.py at 1,000,000 movements: 11.7 ms filtering the due-date index, 0.25 ms).
    op.drop_index('ix_order_header_status_due', table_name='order_header')
    op.create_index('ix_order_header_status_due', 'order_header', ['status', 'due_date', 'order_number'])


DISPOSITION_CHECK = (
    "disposition IS NULL OR (movement_type = 'OUT' AND disposition IN ('sent', 'scrap', 'rework') "
    "AND (disposition = 'sent' OR reason_id IS NOT NULL))"
)
TRANSIT_QTY_CHECK = (
    '(quantity > 0 AND transit_qty BETWEEN 0 AND quantity) OR (quantity < 0 AND transit_qty BETWEEN quantity AND 0)'
)


def _flow_columns() -> None:
    """production_order's flow columns. SQLite: plain ADD COLUMNs with their constraints written in, not a
    batch copy of the table: with foreign keys on (never off inside a transaction), dropping the original
    fails as soon as one reversal in the copy refers to a movement in it."""
    if op.get_bind().dialect.name == 'sqlite':
        for column in (
            'reason_id INTEGER REFERENCES flow_reason (id)',
            'to_work_center_id INTEGER REFERENCES work_center (id)',
            f'disposition VARCHAR(6) CONSTRAINT ck_production_order_disposition CHECK ({DISPOSITION_CHECK})',
            'transit_qty BIGINT DEFAULT 0 NOT NULL '
            f'CONSTRAINT ck_production_order_transit_qty CHECK ({TRANSIT_QTY_CHECK})',
        ):
            op.execute(f'ALTER TABLE production_order ADD COLUMN {column}')
        return
    op.add_column('production_order', sa.Column('disposition', sa.String(length=6), nullable=True))
    op.add_column('production_order', sa.Column('to_work_center_id', sa.Integer(), nullable=True))
    op.add_column('production_order', sa.Column('reason_id', sa.Integer(), nullable=True))
    op.add_column('production_order', sa.Column('transit_qty', sa.BigInteger(), server_default='0', nullable=False))
    op.create_foreign_key(
        'fk_production_order_to_work_center', 'production_order', 'work_center', ['to_work_center_id'], ['id']
    )
    op.create_foreign_key('fk_production_order_reason', 'production_order', 'flow_reason', ['reason_id'], ['id'])
    op.create_check_constraint('ck_production_order_disposition', 'production_order', DISPOSITION_CHECK)
    op.create_check_constraint('ck_production_order_transit_qty', 'production_order', TRANSIT_QTY_CHECK)


def _opening_transit() -> None:
    """What each open routed order has on its way between route steps now, as the steps' opening transit."""
    bind = op.get_bind()
    centers = dict(bind.execute(sa.text('SELECT code, id FROM work_center')).all())
    routed = "SELECT order_number, route FROM order_header WHERE status = 'open' AND route <> ''"
    routes = dict(bind.execute(sa.text(routed)).all())
    if not routes:
        return
    balances: dict[str, dict[int, tuple[int, int, object]]] = defaultdict(dict)
    rows = bind.execute(
        sa.text('SELECT order_number, work_center_id, qty_in, qty_out, last_movement_at FROM order_balance').columns(
            last_movement_at=UTCDateTime()  # read as the model reads it (SQLite keeps text)
        )
    )
    for order, wc, qty_in, qty_out, at in rows:
        if order in routes:
            balances[order][wc] = (int(qty_in), int(qty_out), at)
    transit = sa.table(
        'order_transit',
        sa.column('order_number', sa.String),
        sa.column('work_center_id', sa.Integer),
        sa.column('qty_sent', sa.BigInteger),
        sa.column('qty_received', sa.BigInteger),
        sa.column('qty_opening', sa.BigInteger),
        sa.column('pending_since', UTCDateTime()),
        sa.column('last_from_id', sa.Integer),
        sa.column('last_sent_at', UTCDateTime()),
    )
    opening = []
    for order, route in routes.items():
        # A code named twice (no check refused it before this revision) counts at its first place, as the
        # ledger reads routes from now on (common/routes.py, kept here as it is today).
        ids = [centers.get(code) for code in dict.fromkeys(c for c in route.split('>') if c)]
        for before, step in pairwise(ids):
            if before is None or step is None or before not in balances[order]:
                continue
            _, sent, at = balances[order][before]
            received = balances[order].get(step, (0, 0, None))[0]
            if sent > received:
                gap = sent - received
                row = {'order_number': order, 'work_center_id': step, 'qty_received': 0, 'qty_sent': gap}
                since = {'pending_since': at or utcnow(), 'last_from_id': before, 'last_sent_at': at}
                opening.append({**row, 'qty_opening': gap, **since})
    if opening:
        op.bulk_insert(transit, opening)


def downgrade() -> None:
    op.drop_index('ix_order_header_status_due', table_name='order_header')
    op.create_index('ix_order_header_status_due', 'order_header', ['status', 'due_date'])
    with op.batch_alter_table('order_balance') as batch:
        batch.drop_constraint('ck_order_balance_flow', type_='check')
        batch.drop_column('qty_rework')
        batch.drop_column('qty_scrap')
    if op.get_bind().dialect.name == 'sqlite':  # each column's constraints go with it (SQLite 3.35+)
        for column in ('transit_qty', 'disposition', 'to_work_center_id', 'reason_id'):
            op.execute(f'ALTER TABLE production_order DROP COLUMN {column}')
    else:
        op.drop_constraint('ck_production_order_transit_qty', 'production_order', type_='check')
        op.drop_constraint('ck_production_order_disposition', 'production_order', type_='check')
        op.drop_constraint('fk_production_order_reason', 'production_order', type_='foreignkey')
        op.drop_constraint('fk_production_order_to_work_center', 'production_order', type_='foreignkey')
        for column in ('transit_qty', 'reason_id', 'to_work_center_id', 'disposition'):
            op.drop_column('production_order', column)
    op.drop_index('ix_order_transit_pending', table_name='order_transit')
    op.drop_table('order_transit')
    op.drop_table('product_route')
    op.drop_table('flow_reason')
