"""outbox bodies: the MIME moves out of outbox_messages; index for the relay count

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:12:05.537084
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Plain ALTER TABLE … DROP/ADD COLUMN (SQLite ≥ 3.35 has them), never batch mode here: batch
# mode drops and recreates outbox_messages, and with foreign_keys=ON (our engine's pragma, which
# cannot be switched off inside the migration's transaction) that DROP TABLE fires the ON
# DELETE CASCADE of recipients, attempts and bodies.


def upgrade() -> None:
    op.create_table(
        "outbox_bodies",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("mime", sa.LargeBinary(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_outbox_bodies_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_outbox_bodies_message_id_outbox_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_outbox_bodies")),
    )
    op.create_index(
        op.f("ix_outbox_bodies_company_id"), "outbox_bodies", ["company_id"], unique=False
    )
    op.execute(
        "INSERT INTO outbox_bodies (message_id, company_id, mime)"
        " SELECT id, company_id, mime FROM outbox_messages"
    )
    op.drop_column("outbox_messages", "mime")
    op.create_index(
        "ix_outbox_messages_relay", "outbox_messages", ["company_id", "via_relay"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_relay", table_name="outbox_messages")
    # Added nullable (SQLite cannot add a NOT NULL column without a default), then filled.
    op.add_column("outbox_messages", sa.Column("mime", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE outbox_messages SET mime = (SELECT b.mime FROM outbox_bodies b"
        " WHERE b.message_id = outbox_messages.id)"
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("outbox_messages", "mime", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index(op.f("ix_outbox_bodies_company_id"), table_name="outbox_bodies")
    op.drop_table("outbox_bodies")
