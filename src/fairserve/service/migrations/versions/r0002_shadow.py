"""Shadow decisions: what a candidate policy would have decided for each contact, beside the active one.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_decisions",
        sa.Column("contact_id", sa.String(40), primary_key=True),
        sa.Column("policy_hash", sa.String(64), primary_key=True),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("virtual_arrival", sa.Float, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_shadow_policy", "shadow_decisions", ["policy_hash", "created_at"])


def downgrade() -> None:
    op.drop_table("shadow_decisions")
