"""signin_account and signin_source: sign-in throttling in the database; no more account lockout

Failed sign-ins were counted on the user row (failed_signins, locked_until: five failures locked any
account for 15 minutes, a lock anyone could trigger) and per address in each process's memory. Now
both are counted here, shared by every instance and kept over a restart, and they slow attempts down
instead of locking (accounts/throttle.py). The user columns go: a lock in force when this runs is
lifted, and the failures counted so far start again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from potrack.db.types import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_USER_COLUMNS = ('failed_signins', 'locked_until')


def upgrade() -> None:
    op.create_table(
        'signin_account',
        sa.Column('account_key', sa.String(length=72), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('account_key'),
    )
    op.create_index('ix_signin_account_user_id', 'signin_account', ['user_id'])
    op.create_index('ix_signin_account_window_started_at', 'signin_account', ['window_started_at'])
    op.create_table(
        'signin_source',
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('account_key', sa.String(length=72), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', 'account_key'),
    )
    op.create_index('ix_signin_source_window_started_at', 'signin_source', ['window_started_at'])
    # A plain ALTER on both databases (SQLite has dropped columns in place since 3.35). Alembic's batch
    # mode would copy the user table instead, and dropping the original breaks the foreign keys to it.
    for column in OLD_USER_COLUMNS:
        op.execute(f'ALTER TABLE "user" DROP COLUMN {column}')


def downgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('failed_signins', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked_until', UTCDateTime(timezone=True), nullable=True))
    op.drop_index('ix_signin_source_window_started_at', table_name='signin_source')
    op.drop_table('signin_source')
    op.drop_index('ix_signin_account_window_started_at', table_name='signin_account')
    op.drop_index('ix_signin_account_user_id', table_name='signin_account')
    op.drop_table('signin_account')
