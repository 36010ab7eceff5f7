"""kiosk_device and kiosk_device_work_center; badge, PIN and language on user; device_id on user_session

Enrolled kiosk browsers (a hashed device credential, pinned work centers, the device's default action,
mute, sign-out policy and language); operators sign in there by badge (a keyed hash, found by lookup)
or PIN (bcrypt); a session opened on a device names it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'kiosk_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('credential_hash', sa.String(length=64), nullable=True),
        sa.Column('enroll_code_hash', sa.String(length=64), nullable=True),
        sa.Column('enroll_expires_at', UTCDateTime(), nullable=True),
        sa.Column('default_action', sa.String(length=3), server_default='IN', nullable=False),
        sa.Column('muted', sa.Boolean(), nullable=False),
        sa.Column('sign_out_after', sa.String(length=5), server_default='idle', nullable=False),
        sa.Column('language', sa.String(length=8), server_default='en', nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('enrolled_at', UTCDateTime(), nullable=True),
        sa.Column('last_seen_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint("default_action IN ('IN', 'OUT')", name='ck_kiosk_device_default_action'),
        sa.CheckConstraint("sign_out_after IN ('entry', 'idle')", name='ck_kiosk_device_sign_out_after'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credential_hash'),
        sa.UniqueConstraint('enroll_code_hash'),
    )
    op.create_table(
        'kiosk_device_work_center',
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('work_center_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['kiosk_device.id']),
        sa.ForeignKeyConstraint(['work_center_id'], ['work_center.id']),
        sa.PrimaryKeyConstraint('device_id', 'work_center_id'),
    )
    op.create_index('ix_kiosk_device_work_center_work_center_id', 'kiosk_device_work_center', ['work_center_id'])
    # Plain ADD COLUMNs on both databases: a batch copy of "user" would break the foreign keys to it.
    for column in ('badge_hash VARCHAR(64)', 'pin_hash VARCHAR(100)', 'language VARCHAR(8)'):
        op.execute(f'ALTER TABLE "user" ADD COLUMN {column}')
    op.create_index('ux_user_badge_hash', 'user', ['badge_hash'], unique=True)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE user_session ADD COLUMN device_id INTEGER REFERENCES kiosk_device (id)')
    else:
        op.add_column('user_session', sa.Column('device_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_user_session_device', 'user_session', 'kiosk_device', ['device_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE user_session DROP COLUMN device_id')
    else:
        op.drop_constraint('fk_user_session_device', 'user_session', type_='foreignkey')
        op.drop_column('user_session', 'device_id')
    op.drop_index('ux_user_badge_hash', table_name='user')
    for column in ('language', 'pin_hash', 'badge_hash'):
        op.execute(f'ALTER TABLE "user" DROP COLUMN {column}')
    op.drop_index('ix_kiosk_device_work_center_work_center_id', table_name='kiosk_device_work_center')
    op.drop_table('kiosk_device_work_center')
    op.drop_table('kiosk_device')
