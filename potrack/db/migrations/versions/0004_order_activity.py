"""order_activity: the newest movement time per order, for newest-first searches by order-number prefix

A newest-first search by prefix starts its walk at the newest movement of the orders the prefix selects
(newest_first.newest_first_bound). Read from order_balance that is one index entry per (work center,
order): 50,000 for a 10,000-order prefix, 6-9 ms; here it is one per order (1.5 ms, bench/queries.py).
Filled from order_balance, whose last_movement_at is each pair's newest movement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL_FROM_BALANCES = """
INSERT INTO order_activity (order_number, last_movement_at)
SELECT order_number, MAX(last_movement_at) FROM order_balance
WHERE last_movement_at IS NOT NULL
GROUP BY order_number
ON CONFLICT (order_number) DO UPDATE SET last_movement_at = excluded.last_movement_at
"""


def upgrade() -> None:
    # Derived data, so safe to drop: `pg_restore --clean` of a backup made before this revision, over a
    # database made after it, leaves this table (not in the archive) behind with alembic at 0003.
    op.execute('DROP TABLE IF EXISTS order_activity')
    op.create_table(
        'order_activity',
        sa.Column('order_number', sa.String(length=40), nullable=False),
        sa.Column('last_movement_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('order_number'),
    )
    op.create_index(
        'ix_order_activity_order_number',
        'order_activity',
        ['order_number'],
        postgresql_ops={'order_number': 'text_pattern_ops'},
        postgresql_include=['last_movement_at'],
    )
    op.execute(FILL_FROM_BALANCES)


def downgrade() -> None:
    op.drop_index('ix_order_activity_order_number', table_name='order_activity')
    op.drop_table('order_activity')
