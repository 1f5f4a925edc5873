"""Delivery: claim due messages, send them through the transports, record the outcome.

claim.py (lease a batch), context.py (rows -> SendJob), send.py (the Dispatcher),
options.py (its options and transports), consent.py (the consent re-check before a send),
messages.py (SendJob -> the SMS or email), outcomes.py (sent / retry / failed / opt-out /
email fall-back), accepted.py (accepted sends, set-based), recovery.py (expired leases),
status.py (provider delivery reports), ratelimit.py, housekeeping.py.
"""

from followup.dispatch.context import JobBuilder, SendJob
from followup.dispatch.outcomes import RetryPolicy
from followup.dispatch.recovery import recover_stale_claims
from followup.dispatch.send import Dispatcher, DispatchOptions, Transports
from followup.dispatch.status import apply_provider_status

__all__ = [
    "DispatchOptions",
    "Dispatcher",
    "JobBuilder",
    "RetryPolicy",
    "SendJob",
    "Transports",
    "apply_provider_status",
    "recover_stale_claims",
]
