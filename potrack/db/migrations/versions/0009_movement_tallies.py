"""movement_hour, and a tally in each order_balance row: for search totals that add up instead of counting

Search totals counted every movement that matched: 100-200 ms at a million movements, whatever the query
(issue 19). The ledger now keeps, in the movement's transaction, per (work center, order) the number of IN
and OUT movements and the oldest movement time, and per (work center, UTC hour) the same numbers and the
quantities (ledger/tallies.py); the pairs' tallies join the order-number index of order_balance, so that
totals read them with an index-only scan. Filled from the ledger by the catch-up that runs after the migrations at
every start (ledger/integrity.catch_up), which also mends them after a rolling upgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLY_COLUMNS = ['first_movement_at', 'moves_in', 'moves_out', 'qty_in', 'qty_out']


def upgrade() -> None:
    op.add_column('order_balance', sa.Column('moves_in', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('order_balance', sa.Column('moves_out', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('order_balance', sa.Column('first_movement_at', UTCDateTime(timezone=True), nullable=True))
    _order_number_index(['work_center_id', 'last_movement_at', *TALLY_COLUMNS])
    # Derived data, so safe to drop: `pg_restore --clean` of an older backup leaves it behind (as 0004 says).
    op.execute('DROP TABLE IF EXISTS movement_hour')
    op.create_table(
        'movement_hour',
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.Column('hour', UTCDateTime(timezone=True), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('moves_in', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('moves_out', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('qty_in', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('qty_out', sa.BigInteger(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['work_center_id'], ['work_center.id']),
        sa.PrimaryKeyConstraint('work_center_id', 'hour', 'shard'),
    )


def downgrade() -> None:
    op.drop_table('movement_hour')
    _order_number_index(['work_center_id', 'last_movement_at'])
    op.drop_column('order_balance', 'first_movement_at')
    op.drop_column('order_balance', 'moves_out')
    op.drop_column('order_balance', 'moves_in')


def _order_number_index(include: list[str]) -> None:
    """order_balance's order-number index (text_pattern_ops on PostgreSQL) anew, with these columns included."""
    op.drop_index('ix_order_balance_order_number', table_name='order_balance')
    op.create_index(
        'ix_order_balance_order_number',
        'order_balance',
        ['order_number'],
        postgresql_ops={'order_number': 'text_pattern_ops'},
        postgresql_include=include,
    )
