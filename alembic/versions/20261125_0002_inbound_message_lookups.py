"""inbound_message indexes: a number's keywords per clinic, a clinic's unknown senders

Both lead with clinic_id, so the single-column clinic_id index goes: every reply inserts
into this table, and each index is written on every insert.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_message_clinic_from",
            ["clinic_id", "from_address", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inbound_message_clinic_unknown",
            ["clinic_id", "patient_id", "received_at"],
            unique=False,
        )
        batch_op.drop_index("ix_inbound_message_clinic_id")


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_message_clinic_id", ["clinic_id"], unique=False)
        batch_op.drop_index("ix_inbound_message_clinic_unknown")
        batch_op.drop_index("ix_inbound_message_clinic_from")
