"""postgresql search backend: the tables of the PostgreSQL full-text backend (search_document with its
weighted tsvector, its territories, the words for spelling suggestions, the build state), created on
every database so that one schema serves both; on PostgreSQL only, the extensions unaccent and
fuzzystrmatch, the text search configuration marketplace_fr (French stemming after unaccent) and
the GIN index on the vector. Fill it with `flask search rebuild` when SEARCH_BACKEND=postgresql.

Revision ID: fedc75fd7457
Revises: b1e0d6179ec0
Create Date: 2026-11-23 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'fedc75fd7457'
down_revision = 'b1e0d6179ec0'
branch_labels = None
depends_on = None


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    pg = _is_postgresql()
    if pg:
        # Both are "trusted" extensions (PostgreSQL 13+): the database owner may create them.
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS marketplace_fr")
        op.execute("CREATE TEXT SEARCH CONFIGURATION marketplace_fr (COPY = french)")
        op.execute("ALTER TEXT SEARCH CONFIGURATION marketplace_fr "
                   "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem")

    op.create_table('search_document',
    sa.Column('listing_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('waste_code', sa.String(length=8), nullable=True),
    sa.Column('waste_chapter', sa.String(length=2), nullable=True),
    sa.Column('is_hazardous', sa.Boolean(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('document', postgresql.TSVECTOR() if pg else sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_search_document'))
    )
    with op.batch_alter_table('search_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_document_latitude'), ['latitude'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_document_published_at'), ['published_at'], unique=False)
        batch_op.create_index('ix_search_document_document', ['document'], unique=False, postgresql_using='gin')

    op.create_table('search_document_territory',
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['search_document.listing_id'], name=op.f('fk_search_document_territory_listing_id_search_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('listing_id', 'territory_id', name=op.f('pk_search_document_territory'))
    )
    with op.batch_alter_table('search_document_territory', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_document_territory_territory_id'), ['territory_id'], unique=False)

    op.create_table('search_word',
    sa.Column('word', sa.String(length=40), nullable=False),
    sa.Column('initial', sa.String(length=1), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_word'))
    )
    with op.batch_alter_table('search_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_word_initial'), ['initial'], unique=False)

    op.create_table('search_index_state',
    sa.Column('backend', sa.String(length=20), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('backend', name=op.f('pk_search_index_state'))
    )


def downgrade():
    op.drop_table('search_index_state')
    with op.batch_alter_table('search_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_word_initial'))
    op.drop_table('search_word')
    with op.batch_alter_table('search_document_territory', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_document_territory_territory_id'))
    op.drop_table('search_document_territory')
    with op.batch_alter_table('search_document', schema=None) as batch_op:
        batch_op.drop_index('ix_search_document_document', postgresql_using='gin')
        batch_op.drop_index(batch_op.f('ix_search_document_published_at'))
        batch_op.drop_index(batch_op.f('ix_search_document_latitude'))
    op.drop_table('search_document')
    if _is_postgresql():
        # The extensions stay: other objects of the database may use them.
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS marketplace_fr")
