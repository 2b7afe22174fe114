"""unfinished jobs: one row per durable job (matching) asked for and not yet done, written in the
transaction that asks for it and deleted in the transaction of its effect; the minute sweep queues
again the rows left past their lease (marketplace/jobs.py), so a job lost with its worker still
happens, once.

Revision ID: 6f0c70133ca3
Revises: 7a1c2e9d4b31
Create Date: 2026-11-24 04:01:39.334567

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6f0c70133ca3'
down_revision = '7a1c2e9d4b31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unfinished_job',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('task', sa.String(length=100), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('enqueued', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('retry_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_unfinished_job'))
    )
    with op.batch_alter_table('unfinished_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unfinished_job_retry_at'), ['retry_at'], unique=False)


def downgrade():
    with op.batch_alter_table('unfinished_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unfinished_job_retry_at'))

    op.drop_table('unfinished_job')