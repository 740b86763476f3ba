"""Data-quality tables and checks beyond the GX suites.

Applies include/sql/<layer>/0002_*.sql in layer order; downgrade applies the
matching 0002_*.down.sql files in reverse layer order.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from lifecircle.warehouse.migrate import apply_layer_files

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_layer_files(op.get_bind(), "0002")


def downgrade() -> None:
    apply_layer_files(op.get_bind(), "0002", down=True)
