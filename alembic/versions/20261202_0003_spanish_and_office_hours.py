"""Spanish as a patient language; a clinic's office hours (when staff read messages)

The language column is VARCHAR plus a CHECK constraint (models.base.str_enum), so a new
language is a new constraint. Office hours default to Monday to Friday, 09:00 to 17:00
for the clinics that exist already.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import time

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LANGUAGES_BEFORE = ("en", "fr")
_LANGUAGES_AFTER = ("en", "fr", "es")
_MONDAY_TO_FRIDAY = 0b0011111  # bit 0 is Monday, as date.weekday() counts


def _language_check(languages: Sequence[str]) -> str:
    return "language IN ({})".format(", ".join(f"'{code}'" for code in languages))


def _set_languages(languages: Sequence[str]) -> None:
    # On SQLite the batch recreates the table; the old CHECK is dropped by name first so
    # the copy carries only the new one.
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_patient_language"), type_="check")
        batch_op.create_check_constraint(op.f("ck_patient_language"), _language_check(languages))


def upgrade() -> None:
    _set_languages(_LANGUAGES_AFTER)
    # Added nullable, filled, then made NOT NULL: existing clinics get the defaults
    # without a server default the models do not have.
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("office_opens_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("office_closes_at", sa.Time(), nullable=True))
    clinic = sa.table(
        "clinic",
        sa.column("office_days", sa.Integer()),
        sa.column("office_opens_at", sa.Time()),
        sa.column("office_closes_at", sa.Time()),
    )
    op.execute(
        clinic.update().values(
            office_days=_MONDAY_TO_FRIDAY, office_opens_at=time(9, 0), office_closes_at=time(17, 0)
        )
    )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.alter_column("office_days", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("office_opens_at", existing_type=sa.Time(), nullable=False)
        batch_op.alter_column("office_closes_at", existing_type=sa.Time(), nullable=False)
        # Named as the models' naming convention names them: ck_clinic_office_days, ...
        batch_op.create_check_constraint("office_days", "office_days BETWEEN 1 AND 127")
        batch_op.create_check_constraint("office_hours_order", "office_opens_at < office_closes_at")


def downgrade() -> None:
    # Not silently rewritten as English: someone decides what these patients should get.
    spanish = op.get_bind().scalar(sa.text("SELECT count(*) FROM patient WHERE language = 'es'"))
    if spanish:
        raise RuntimeError(
            f"{spanish} patient(s) have language 'es', which revision 0002 cannot store; "
            "change their language before downgrading"
        )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_office_hours_order"), type_="check")
        batch_op.drop_constraint(op.f("ck_clinic_office_days"), type_="check")
        batch_op.drop_column("office_closes_at")
        batch_op.drop_column("office_opens_at")
        batch_op.drop_column("office_days")
    _set_languages(_LANGUAGES_BEFORE)
