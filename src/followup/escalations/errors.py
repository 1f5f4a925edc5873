"""What a staff action that cannot be done as asked raises; the web turns it into a message."""

from __future__ import annotations


class StaffActionError(ValueError):
    """A staff action that can't be done as asked (an empty text, resolved twice, ...)."""


class EscalationError(StaffActionError):
    """An action on an escalation that doesn't fit its state (resolved twice, ...)."""


class PatientOptedOut(EscalationError):
    """The patient revoked consent to texts: staff must call instead."""
