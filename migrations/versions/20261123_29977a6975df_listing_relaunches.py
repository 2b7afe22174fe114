"""listing relaunches: the relance of dormant listings, and the last view that keeps a listing awake

Revision ID: 29977a6975df
Revises: fe03fefbef98
Create Date: 2026-11-23 19:54:13.232468

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '29977a6975df'
down_revision = 'fe03fefbef98'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('listing_relaunch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('recipient_emails', sa.Text(), nullable=False),
    sa.Column('answer', sa.String(length=20), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_listing_relaunch_answered_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_listing_relaunch_listing_id_listing'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_listing_relaunch_recipient_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user.id'], name=op.f('fk_listing_relaunch_sent_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_relaunch'))
    )
    with op.batch_alter_table('listing_relaunch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_relaunch_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_listing_relaunch_listing_sent', ['listing_id', 'sent_at'], unique=False)

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_viewed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_column('last_viewed_at')

    with op.batch_alter_table('listing_relaunch', schema=None) as batch_op:
        batch_op.drop_index('ix_listing_relaunch_listing_sent')
        batch_op.drop_index(batch_op.f('ix_listing_relaunch_batch_id'))

    op.drop_table('listing_relaunch')
