"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 19:16:56.999954
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import followup.models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sms_name", sa.String(length=40), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sender_number", sa.String(length=20), nullable=True),
        sa.Column("messaging_service_sid", sa.String(length=64), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("default_send_time", sa.Time(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=False),
        sa.Column("quiet_end", sa.Time(), nullable=False),
        sa.Column("urgent_sla_minutes", sa.Integer(), nullable=False),
        sa.Column("normal_sla_minutes", sa.Integer(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
        sa.UniqueConstraint("sender_number", name=op.f("uq_clinic_sender_number")),
        sa.UniqueConstraint("slug", name=op.f("uq_clinic_slug")),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_idempotency_record_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("clinic_id", "key", name=op.f("uq_idempotency_record_clinic_id_key")),
    )
    op.create_table(
        "on_call_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("urgent_only", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_on_call_contact_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_call_contact")),
    )
    with op.batch_alter_table("on_call_contact", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_on_call_contact_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "sms",
                "email",
                "both",
                name="channel_preference",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "language",
            sa.Enum("en", "fr", name="language", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("consent_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consent_method", sa.String(length=40), nullable=True),
        sa.Column("consent_recorded_by", sa.String(length=254), nullable=True),
        sa.Column("opted_out_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opt_out_source", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_patient_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_clinic_phone", ["clinic_id", "phone"], unique=False)

    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "staff", name="staff_role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_staff_user_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_user_email")),
    )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_user_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_used_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_api_token_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_user.id"], name=op.f("fk_api_token_created_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_audit_event_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_user.id"],
            name=op.f("fk_audit_event_staff_user_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_clinic_at", ["clinic_id", "at"], unique=False)
        batch_op.create_index("ix_audit_event_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "treatment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("treated_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=True),
        sa.Column("paused_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "checkin_answer",
            sa.Enum(
                "better",
                "same",
                "worse",
                name="checkin_answer",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("checkin_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("enrolled_by", sa.String(length=254), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_treatment_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment")),
        sa.UniqueConstraint(
            "patient_id", "kind", "treated_at", name=op.f("uq_treatment_patient_id_kind_treated_at")
        ),
    )
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_treatment_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("treatment_id", sa.Integer(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "sms", "email", name="inbound_channel", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("opt_out_type", sa.String(length=20), nullable=True),
        sa.Column("reply_body", sa.Text(), nullable=True),
        sa.Column("received_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body_purged_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_inbound_message_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_inbound_message_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"],
            ["treatment.id"],
            name=op.f("fk_inbound_message_treatment_id_treatment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_inbound_message_provider_sid")),
    )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_message_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_message_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=True),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column(
            "priority",
            sa.Enum(
                "urgent",
                "normal",
                "inbox",
                name="escalation_priority",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "acknowledged",
                "resolved",
                name="escalation_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("opened_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "acknowledged_at", followup.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column(
            "last_notified_at", followup.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("notify_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["staff_user.id"],
            name=op.f("fk_escalation_acknowledged_by_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"],
            ["staff_user.id"],
            name=op.f("fk_escalation_assigned_to_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_escalation_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_escalation_inbound_message_id_inbound_message"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_escalation_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["staff_user.id"],
            name=op.f("fk_escalation_resolved_by_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"], ["treatment.id"], name=op.f("fk_escalation_treatment_id_treatment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_escalation_queue", ["clinic_id", "status", "priority", "opened_at"], unique=False
        )

    op.create_table(
        "scheduled_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("treatment_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "plan",
                "staff_reply",
                "auto_reply",
                "staff_alert",
                name="message_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("sms", "email", name="channel", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("send_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "paused",
                "sending",
                "retry",
                "sent",
                "delivered",
                "undelivered",
                "failed",
                "cancelled",
                "expired",
                "needs_review",
                name="message_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", followup.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column(
            "lease_expires_at", followup.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("sent_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column(
            "created_at",
            followup.models.base.UTCDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("updated_at", followup.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_scheduled_message_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_scheduled_message_escalation_id_escalation"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_scheduled_message_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"],
            ["treatment.id"],
            name=op.f("fk_scheduled_message_treatment_id_treatment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_message")),
        sa.UniqueConstraint(
            "treatment_id",
            "step",
            "channel",
            name=op.f("uq_scheduled_message_treatment_id_step_channel"),
        ),
    )
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduled_message_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_message_escalation_id"), ["escalation_id"], unique=False
        )
        batch_op.create_index(
            "ix_scheduled_message_lease", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_message_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_message_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "staff_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_user.id"], name=op.f("fk_staff_note_author_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_staff_note_escalation_id_escalation"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_staff_note_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_note")),
    )
    with op.batch_alter_table("staff_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_note_escalation_id"), ["escalation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_staff_note_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "message_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("at", followup.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "scheduled",
                "paused",
                "sending",
                "retry",
                "sent",
                "delivered",
                "undelivered",
                "failed",
                "cancelled",
                "expired",
                "needs_review",
                name="message_event_from_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "scheduled",
                "paused",
                "sending",
                "retry",
                "sent",
                "delivered",
                "undelivered",
                "failed",
                "cancelled",
                "expired",
                "needs_review",
                name="message_event_to_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["scheduled_message.id"],
            name=op.f("fk_message_event_message_id_scheduled_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_event")),
    )
    with op.batch_alter_table("message_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_event_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_event_message_id"))

    op.drop_table("message_event")
    with op.batch_alter_table("staff_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_note_patient_id"))
        batch_op.drop_index(batch_op.f("ix_staff_note_escalation_id"))

    op.drop_table("staff_note")
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_message_provider_id"))
        batch_op.drop_index(batch_op.f("ix_scheduled_message_patient_id"))
        batch_op.drop_index("ix_scheduled_message_lease")
        batch_op.drop_index(batch_op.f("ix_scheduled_message_escalation_id"))
        batch_op.drop_index("ix_scheduled_message_due")

    op.drop_table("scheduled_message")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_queue")
        batch_op.drop_index(batch_op.f("ix_escalation_patient_id"))

    op.drop_table("escalation")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_message_patient_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_message_clinic_id"))

    op.drop_table("inbound_message")
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_patient_id"))

    op.drop_table("treatment")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_target")
        batch_op.drop_index("ix_audit_event_clinic_at")

    op.drop_table("audit_event")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_clinic_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_user_clinic_id"))

    op.drop_table("staff_user")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_phone")

    op.drop_table("patient")
    with op.batch_alter_table("on_call_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_on_call_contact_clinic_id"))

    op.drop_table("on_call_contact")
    op.drop_table("idempotency_record")
    op.drop_table("clinic")
