"""experiment TLS and timeout settings: ca_path, verify_tls, service_timeout, rucio_vo

Existing experiments keep today's behaviour: verify_tls defaults to true on the server, the others are NULL
(the adapters' defaults: CAs from $X509_CERT_DIR / $REQUESTS_CA_BUNDLE / certifi, 60 s, Rucio VO "def").

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('experiment', sa.Column('ca_path', sa.String(length=500), nullable=True))
    op.add_column('experiment', sa.Column('verify_tls', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('experiment', sa.Column('service_timeout', sa.Integer(), nullable=True))
    op.add_column('experiment', sa.Column('rucio_vo', sa.String(length=50), nullable=True))
    op.create_check_constraint(op.f('ck_experiment_service_timeout'), 'experiment',
                               'service_timeout IS NULL OR service_timeout > 0')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_experiment_service_timeout'), 'experiment', type_='check')
    op.drop_column('experiment', 'rucio_vo')
    op.drop_column('experiment', 'service_timeout')
    op.drop_column('experiment', 'verify_tls')
    op.drop_column('experiment', 'ca_path')
