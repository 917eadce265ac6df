"""account health

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:32:16.249668
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import postroom.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get healthy defaults: no failures, no attention needed.
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("consecutive_auth_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("needs_attention", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("attention_reason", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("last_error_at", postroom.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_success_at", postroom.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_test_report", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("last_test_report")
        batch_op.drop_column("last_success_at")
        batch_op.drop_column("last_error_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attention_reason")
        batch_op.drop_column("needs_attention")
        batch_op.drop_column("consecutive_auth_failures")
        batch_op.drop_column("consecutive_failures")
