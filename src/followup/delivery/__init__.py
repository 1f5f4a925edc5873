"""Delivery: every message we send is a row (the outbox), and this package sends it.

Everything that sends anything (enrollment, replies, escalations, staff) writes a
`scheduled_message` row through `outbox` (`queue_message`, `transition`: every status
change is an event) or `outbox_bulk` (many rows in one round trip), in its own
transaction. The worker then walks each due row through, in order: `claim` (lease a
batch, SKIP LOCKED) -> `context` (rows -> SendJob) -> `consent` (the re-check right
before sending) -> `compose` (the SMS or email) -> `send` (the Dispatcher, through
`transports/`: console, Twilio, SMTP behind one Protocol) -> `outcomes` (sent, retry,
failed, opted out; `accepted` records accepted sends set-based). `recovery` settles
expired leases by asking the provider, `status` applies delivery reports, `ratelimit`
paces a sender number, `housekeeping` expires what is too late to be useful,
`heartbeats` records which worker processes are alive.
"""

from followup.delivery.context import JobBuilder, SendJob
from followup.delivery.outcomes import RetryPolicy
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.send import Dispatcher, DispatchOptions, Transports
from followup.delivery.status import apply_provider_status

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
