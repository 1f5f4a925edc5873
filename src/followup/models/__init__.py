"""The data model. Import from here: `from followup.models import Patient`."""

from followup.models.audit import AuditEvent
from followup.models.base import (
    CLAIMABLE_STATUSES,
    NEEDS_PERSON_STATUSES,
    PENDING_STATUSES,
    Base,
    Channel,
    ChannelPreference,
    CheckinAnswer,
    EscalationPriority,
    EscalationStatus,
    Language,
    MessageKind,
    MessageStatus,
    Role,
    UTCDateTime,
)
from followup.models.clinic import ApiToken, Clinic, IdempotencyRecord, OnCallContact, StaffUser
from followup.models.escalation import Escalation, StaffNote
from followup.models.messaging import InboundMessage, MessageEvent, ScheduledMessage, status_is
from followup.models.operations import PeriodicRun, WorkerHeartbeat
from followup.models.patient import Patient, Treatment
from followup.models.staff_access import SignInThrottle, StaffSession, ThrottleScope

__all__ = [
    "CLAIMABLE_STATUSES",
    "NEEDS_PERSON_STATUSES",
    "PENDING_STATUSES",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Channel",
    "ChannelPreference",
    "CheckinAnswer",
    "Clinic",
    "Escalation",
    "EscalationPriority",
    "EscalationStatus",
    "IdempotencyRecord",
    "InboundMessage",
    "Language",
    "MessageEvent",
    "MessageKind",
    "MessageStatus",
    "OnCallContact",
    "Patient",
    "PeriodicRun",
    "Role",
    "ScheduledMessage",
    "SignInThrottle",
    "StaffNote",
    "StaffSession",
    "StaffUser",
    "ThrottleScope",
    "Treatment",
    "UTCDateTime",
    "WorkerHeartbeat",
    "status_is",
]
