"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:50:15.441707
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('description', sa.String(length=200), server_default='', nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ux_department_name_lower', 'department', [sa.text('lower(name)')], unique=True)
    op.create_table(
        'work_center',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('description', sa.String(length=200), server_default='', nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=40), nullable=False),
        sa.Column('full_name', sa.String(length=100), server_default='', nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('password_hash', sa.String(length=100), nullable=False),
        sa.Column('is_admin', sa.Boolean(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('must_change_password', sa.Boolean(), nullable=False),
        sa.Column('failed_signins', sa.Integer(), nullable=False),
        sa.Column('locked_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_signin_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['department_id'],
            ['department.id'],
        ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username'),
    )
    op.create_index('ix_user_department_id', 'user', ['department_id'], unique=False)

    op.create_table(
        'workcenter_department',
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['department_id'],
            ['department.id'],
        ),
        sa.ForeignKeyConstraint(
            ['work_center_id'],
            ['work_center.id'],
        ),
        sa.PrimaryKeyConstraint('work_center_id', 'department_id'),
    )
    op.create_index('ix_workcenter_department_department_id', 'workcenter_department', ['department_id'], unique=False)

    op.create_table(
        'audit_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.String(length=64), nullable=False),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'],
            ['user.id'],
        ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_event_action', 'audit_event', ['action'], unique=False)
    op.create_index('ix_audit_event_actor_id', 'audit_event', ['actor_id'], unique=False)
    op.create_index('ix_audit_event_at', 'audit_event', ['at'], unique=False)
    op.create_index('ix_audit_event_entity', 'audit_event', ['entity', 'entity_id'], unique=False)

    op.create_table(
        'order_balance',
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.Column('order_number', sa.String(length=40), nullable=False),
        sa.Column('qty_in', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('qty_out', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('last_movement_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_user_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('0 <= qty_out AND qty_out <= qty_in', name='ck_order_balance_non_negative'),
        sa.ForeignKeyConstraint(
            ['last_user_id'],
            ['user.id'],
        ),
        sa.ForeignKeyConstraint(
            ['work_center_id'],
            ['work_center.id'],
        ),
        sa.PrimaryKeyConstraint('work_center_id', 'order_number'),
    )
    op.create_index(
        'ix_order_balance_order_number',
        'order_balance',
        ['order_number'],
        unique=False,
        postgresql_ops={'order_number': 'text_pattern_ops'},
    )

    op.create_table(
        'production_order',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('order_number', sa.String(length=40), nullable=False),
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('movement_type', sa.String(length=3), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=False),
        sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.CheckConstraint("movement_type IN ('IN', 'OUT')", name='ck_production_order_type'),
        sa.CheckConstraint(
            '(reverses_id IS NULL AND quantity > 0) OR (reverses_id IS NOT NULL AND quantity < 0)',
            name='ck_production_order_quantity_sign',
        ),
        sa.ForeignKeyConstraint(
            ['reverses_id'],
            ['production_order.id'],
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['user.id'],
        ),
        sa.ForeignKeyConstraint(
            ['work_center_id'],
            ['work_center.id'],
        ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_id'),
        sa.UniqueConstraint('reverses_id'),
    )
    op.create_index('ix_production_order_created_at', 'production_order', ['created_at'], unique=False)
    op.create_index(
        'ix_production_order_order_number',
        'production_order',
        ['order_number', 'created_at'],
        unique=False,
        postgresql_ops={'order_number': 'text_pattern_ops'},
    )
    op.create_index('ix_production_order_user_created', 'production_order', ['user_id', 'created_at'], unique=False)
    op.create_index(
        'ix_production_order_wc_created', 'production_order', ['work_center_id', 'created_at'], unique=False
    )

    op.create_table(
        'user_session',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=40), nullable=True),
        sa.Column('source', sa.String(length=64), server_default='', nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['user.id'],
        ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_user_session_user_id', 'user_session', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('user_session')
    op.drop_table('production_order')
    op.drop_table('order_balance')
    op.drop_table('audit_event')
    op.drop_table('workcenter_department')
    op.drop_table('user')
    op.drop_table('work_center')
    op.drop_table('department')
