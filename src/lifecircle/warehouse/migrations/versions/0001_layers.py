"""Warehouse layers raw, staging, quarantine, core, mart and their first tables.

Revision ID: 0001
Revises:
"""
from alembic import op

from lifecircle.warehouse.migrate import LAYERS, apply_layer_files

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_layer_files(op.get_bind(), "0001")


def downgrade() -> None:
    for layer in reversed(LAYERS):
        op.execute(f"DROP SCHEMA IF EXISTS {layer} CASCADE")
