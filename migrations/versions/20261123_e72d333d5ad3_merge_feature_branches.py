"""merge feature branches

Revision ID: e72d333d5ad3
Revises: 1299ea0599d2, 296db78e36e4, f91509c8b8d9
Create Date: 2026-11-23 17:13:32.546457

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e72d333d5ad3'
down_revision = ('1299ea0599d2', '296db78e36e4', 'f91509c8b8d9')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
