"""rules_pending flag: new mail is committed before the account's rules run

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 06:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rules_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_mail_messages_rules_pending",
            ["account_id", "id"],
            unique=False,
            sqlite_where=sa.text("rules_pending = 1"),
            postgresql_where=sa.text("rules_pending = true"),
        )


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_mail_messages_rules_pending",
            sqlite_where=sa.text("rules_pending = 1"),
            postgresql_where=sa.text("rules_pending = true"),
        )
        batch_op.drop_column("rules_pending")
