"""sessions end server-side and sign-in is rate limited: app_user.session_generation, signin_failure

``session_generation`` is stored in the browser session at sign-in and compared on every request; bumping it
(sign-out, password change, disabling the account) ends the sessions signed in before.  Existing users start at
0, so sessions signed in before this revision (which carry no generation) are refused once: people sign in again.
``signin_failure`` holds the failed password sign-ins of the rate limit's window (pruned as new ones arrive).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('app_user', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'signin_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('client_address', sa.String(length=100), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_failure')),
    )
    op.create_index('ix_signin_failure_username_at', 'signin_failure', ['username', 'failed_at'], unique=False)
    op.create_index('ix_signin_failure_address_at', 'signin_failure', ['client_address', 'failed_at'], unique=False)
    op.create_index(op.f('ix_signin_failure_failed_at'), 'signin_failure', ['failed_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_signin_failure_failed_at'), table_name='signin_failure')
    op.drop_index('ix_signin_failure_address_at', table_name='signin_failure')
    op.drop_index('ix_signin_failure_username_at', table_name='signin_failure')
    op.drop_table('signin_failure')
    op.drop_column('app_user', 'session_generation')
