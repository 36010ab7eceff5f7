"""order_header and site_setting: the order book, and the settings admins change in the app

Every order number the ledger has already seen becomes an open order of the book (planned quantity
unknown, source 'history'), so an existing site keeps recording its running orders under any policy.
Read from order_balance: one row per (work center, order) that ever had a movement, far fewer than the
movements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime, utcnow

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_COLUMNS = ('order_number', 'product_code', 'product_description')
FILL_FROM_HISTORY = """
INSERT INTO order_header (order_number, product_code, product_description, route, status, source, notes,
                          created_at, updated_at)
SELECT DISTINCT order_number, '', '', '', 'open', 'history', '', :now, :now FROM order_balance
"""


def upgrade() -> None:
    # `pg_restore --clean` of a backup made before this revision, over a database made after it, leaves
    # these tables (not in the archive) behind with alembic at 0004: their rows belong to the database
    # that was replaced, not to the ledger restored, so the book is made again from that ledger's history.
    op.execute('DROP TABLE IF EXISTS site_setting')
    op.execute('DROP TABLE IF EXISTS order_header')
    op.create_table(
        'order_header',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_number', sa.String(length=40), nullable=False),
        sa.Column('product_code', sa.String(length=40), server_default='', nullable=False),
        sa.Column('product_description', sa.String(length=200), server_default='', nullable=False),
        sa.Column('planned_quantity', sa.BigInteger(), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('route', sa.String(length=400), server_default='', nullable=False),
        sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('notes', sa.String(length=500), server_default='', nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed', 'cancelled')", name='ck_order_header_status'),
        sa.CheckConstraint("source IN ('typed', 'imported', 'api', 'kiosk', 'history')", name='ck_order_header_source'),
        sa.CheckConstraint('planned_quantity IS NULL OR planned_quantity > 0', name='ck_order_header_planned'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_number'),
    )
    op.create_index(
        'ix_order_header_number_pattern',
        'order_header',
        ['order_number'],
        postgresql_ops={'order_number': 'text_pattern_ops'},
        postgresql_include=['due_date'],
    )
    op.create_index(
        'ix_order_header_product', 'order_header', ['product_code'], postgresql_ops={'product_code': 'text_pattern_ops'}
    )
    op.create_index('ix_order_header_status_due', 'order_header', ['status', 'due_date'])
    op.create_index('ix_order_header_due_number', 'order_header', ['due_date', 'order_number'])
    trigram = _trigram_available()
    for name in TRIGRAM_COLUMNS:
        gin = {'postgresql_using': 'gin', 'postgresql_ops': {name: 'gin_trgm_ops'}} if trigram else {}
        op.create_index(f'ix_order_header_trgm_{name}', 'order_header', [name], **gin)
    op.create_table(
        'site_setting',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=400), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('key'),
    )
    fill = sa.text(FILL_FROM_HISTORY).bindparams(sa.bindparam('now', utcnow(), type_=UTCDateTime()))
    op.execute(fill)


def _trigram_available() -> bool:
    """PostgreSQL with pg_trgm (a trusted extension: the database's owner may create it). Without it the
    "contains" indexes are plain ones and such searches scan, as on SQLite; nothing else changes."""
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except sa.exc.DBAPIError:
        return False
    return True


def downgrade() -> None:
    for name in TRIGRAM_COLUMNS:
        op.drop_index(f'ix_order_header_trgm_{name}', table_name='order_header')
    op.drop_index('ix_order_header_due_number', table_name='order_header')
    op.drop_table('site_setting')
    op.drop_index('ix_order_header_status_due', table_name='order_header')
    op.drop_index('ix_order_header_product', table_name='order_header')
    op.drop_index('ix_order_header_number_pattern', table_name='order_header')
    op.drop_table('order_header')
