"""Production depth for registrations (bulk exports, Parquet landing, geocoding), survey
uploads (task progress, templates, bucket landing) and coverage (OSM network, typology,
candidate sites).

Applies include/sql/<layer>/0005_*.sql in layer order (files of one layer in name order);
downgrade applies the matching 0005_*.down.sql files in reverse layer order.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from lifecircle.warehouse.migrate import apply_layer_files

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_layer_files(op.get_bind(), "0005")


def downgrade() -> None:
    apply_layer_files(op.get_bind(), "0005", down=True)
