"""The first schema: customers, identities, contacts (the queue), agents, API keys, audit log, policies, outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(200), primary_key=True),
        sa.Column("clv", sa.Float),
        sa.Column("profit", sa.Float),
        sa.Column("loyalty", sa.Float),
        sa.Column("status", sa.String(100)),
        sa.Column("account", sa.String(200)),
        sa.Column("influence", sa.Float),
        sa.Column("followers", sa.Integer),
        sa.Column("value_percentile", sa.Float),
        sa.Column("facts", sa.Text),
        sa.Column("guest", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "identities",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("platform", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_identities_customer_id", "identities", ["customer_id"])
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("sentiment", sa.Float),
        sa.Column("complaint", sa.Boolean, nullable=False),
        sa.Column("repeat", sa.Integer, nullable=False),
        sa.Column("reach", sa.Float),
        sa.Column("public", sa.Boolean),
        sa.Column("arrival", sa.Float, nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("virtual_arrival", sa.Float, nullable=False),
        sa.Column("head_start_min", sa.Float, nullable=False),
        sa.Column("influence_min", sa.Float, nullable=False),
        sa.Column("sla_seconds", sa.Float, nullable=False),
        sa.Column("sla_deadline", sa.Float, nullable=False),
        sa.Column("guarantee_deadline", sa.Float),
        sa.Column("policy_name", sa.String(60), nullable=False),
        sa.Column("policy_version", sa.String(40), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("agent_id", sa.String(100)),
        sa.Column("assigned_at", sa.Float),
        sa.Column("closed_at", sa.Float),
        sa.Column("sla_state", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_contacts_source_external"),
    )
    op.create_index("ix_contacts_order", "contacts", ["state", "queue", "rank", "virtual_arrival", "arrival", "id"])
    op.create_index("ix_contacts_guarantee", "contacts", ["state", "queue", "guarantee_deadline", "arrival", "id"])
    op.create_index("ix_contacts_sla", "contacts", ["state", "sla_state", "sla_deadline"])
    op.create_index("ix_contacts_customer", "contacts", ["customer_id", "state"])
    op.create_index("ix_contacts_agent", "contacts", ["agent_id", "state"])
    op.create_table(
        "agents",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("channels", sa.String(100), nullable=False),
        sa.Column("queues", sa.String(100), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("contact_id", sa.String(40)),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_contact_id", "audit", ["contact_id"])
    op.create_table(
        "policies",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("contact_id", sa.String(40)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.String(300)),
    )
    op.create_index("ix_outbox_due", "outbox", ["delivered_at", "next_attempt"])
    op.create_table(
        "kv",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("kv", "outbox", "policies", "audit", "api_keys", "agents", "contacts", "identities", "customers"):
        op.drop_table(name)
