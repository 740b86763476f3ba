"""POI snapshots history, OSM source and POI-registration matches.

Applies include/sql/<layer>/0004_*.sql in layer order; downgrade applies the
matching 0004_*.down.sql files in reverse layer order.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from lifecircle.warehouse.migrate import apply_layer_files

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_layer_files(op.get_bind(), "0004")


def downgrade() -> None:
    apply_layer_files(op.get_bind(), "0004", down=True)
