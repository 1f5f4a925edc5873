"""scheduled_message.body_purged_at: a sent message keeps its words until retention removes them

Plan messages now keep the rendered SMS body (or the email's subject and text) in the
existing `subject` and `body` columns when a transport takes them. This column says when
the retention purge removed them, so a conversation can tell "removed after the clinic's
retention period" from "sent before copies were kept".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import followup.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "body_purged_at", followup.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.drop_column("body_purged_at")
