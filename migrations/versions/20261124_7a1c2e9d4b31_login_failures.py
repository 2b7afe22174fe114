"""login failures: wrong passwords per e-mail address (a keyed digest), for the per-address log-in lockout
(accounts/lockout.py).

Revision ID: 7a1c2e9d4b31
Revises: 3c5a9e1d7b20
Create Date: 2026-11-24 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a1c2e9d4b31'
down_revision = '3c5a9e1d7b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_address_at', ['address_digest', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_created_at'), ['created_at'], unique=False)


def downgrade():
    op.drop_table('login_failure')
