"""scheduled_message: partial indexes for the claim and the other queries; worker heartbeats;
periodic runs

The claim's `(status, next_attempt_at)` index could not return `status IN ('scheduled',
'retry')` in due order, so every claim read and sorted every due row: a backlog took time
in the square of its size to drain. A partial index on `next_attempt_at` for the claimable
statuses is read in due order and the scan stops after the batch. The other indexes are
reviewed the same way (each serves one named query, see models/messaging.py) and most
become partial, so a status change writes fewer index entries: a sent message is in
neither the claim's nor the lease's index, a plan message in no escalation index.

`worker_heartbeat`: one row per running worker process (`/healthz`, `followup status`,
the dashboard's banner, /metrics). `periodic_run`: the period a once-a-day job last ran
for, so several workers run the retention purge once between them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import followup.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMABLE = "status IN ('scheduled', 'retry')"
PENDING = "status IN ('scheduled', 'retry', 'paused')"
NEEDS_PERSON = "status IN ('failed', 'undelivered', 'needs_review')"
SENDING = "status = 'sending'"


def _where(sql: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(sql), "sqlite_where": sa.text(sql)}


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("started_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_beat_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeat")),
    )
    op.create_table(
        "periodic_run",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("started_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("runner", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_run")),
    )
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_message_due")
        batch_op.drop_index("ix_scheduled_message_lease")
        batch_op.drop_index("ix_scheduled_message_provider_id")
        batch_op.drop_index("ix_scheduled_message_escalation_id")
        batch_op.create_index(
            "ix_scheduled_message_claimable", ["next_attempt_at"], **_where(CLAIMABLE)
        )
        batch_op.create_index(
            "ix_scheduled_message_in_flight", ["lease_expires_at"], **_where(SENDING)
        )
        batch_op.create_index(
            "ix_scheduled_message_clinic_pending",
            ["clinic_id", "next_attempt_at"],
            **_where(PENDING),
        )
        batch_op.create_index(
            "ix_scheduled_message_needs_person",
            ["clinic_id", "updated_at"],
            **_where(NEEDS_PERSON),
        )
        batch_op.create_index(
            "ix_scheduled_message_provider_id",
            ["provider_id"],
            **_where("provider_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_scheduled_message_escalation_id",
            ["escalation_id"],
            **_where("escalation_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_message_escalation_id")
        batch_op.drop_index("ix_scheduled_message_provider_id")
        batch_op.drop_index("ix_scheduled_message_needs_person")
        batch_op.drop_index("ix_scheduled_message_clinic_pending")
        batch_op.drop_index("ix_scheduled_message_in_flight")
        batch_op.drop_index("ix_scheduled_message_claimable")
        batch_op.create_index("ix_scheduled_message_escalation_id", ["escalation_id"])
        batch_op.create_index("ix_scheduled_message_provider_id", ["provider_id"])
        batch_op.create_index("ix_scheduled_message_lease", ["status", "lease_expires_at"])
        batch_op.create_index("ix_scheduled_message_due", ["status", "next_attempt_at"])
    op.drop_table("periodic_run")
    op.drop_table("worker_heartbeat")
