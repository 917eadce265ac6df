"""oauth flows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:40:27.597818
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postroom.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INDEXED = ("account_id", "company_id", "expires_at", "user_id")


def upgrade() -> None:
    # Started OAuth2 sign-ins ("connect with Google/Microsoft"), one row until the callback.
    op.create_table(
        "oauth_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "google",
                "microsoft",
                name="provider",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("use_for_smtp", sa.Boolean(), nullable=False),
        sa.Column("use_for_incoming", sa.Boolean(), nullable=False),
        sa.Column("created_at", postroom.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", postroom.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_oauth_flows_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_oauth_flows_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oauth_flows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oauth_flows_state_hash")),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_oauth_flows_{column}"), "oauth_flows", [column], unique=False)


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(op.f(f"ix_oauth_flows_{column}"), table_name="oauth_flows")
    op.drop_table("oauth_flows")
