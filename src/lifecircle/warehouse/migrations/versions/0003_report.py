"""Report tables and documented views for analysts.

Applies include/sql/<layer>/0003_*.sql in layer order; downgrade applies the
matching 0003_*.down.sql files in reverse layer order.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from lifecircle.warehouse.migrate import apply_layer_files

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_layer_files(op.get_bind(), "0003")


def downgrade() -> None:
    apply_layer_files(op.get_bind(), "0003", down=True)
