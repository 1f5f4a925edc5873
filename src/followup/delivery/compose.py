"""A SendJob as the provider message: the rendered SMS or email, addressed and referenced."""

from __future__ import annotations

from followup.delivery.context import SendJob
from followup.delivery.transports.base import OutgoingEmail, OutgoingSms
from followup.messages.rendering import MessageRenderer


def sms_body(renderer: MessageRenderer, job: SendJob) -> str:
    if job.plan is not None and job.step is not None:
        return renderer.render_sms(job.plan, job.step, job.language, job.context).body
    return job.body or ""


def outgoing_sms(
    renderer: MessageRenderer,
    job: SendJob,
    *,
    messaging_service_sid: str | None,
    status_callback_url: str | None,
) -> OutgoingSms:
    """The job's own messaging service wins; the default one only without a from number."""
    service = job.messaging_service_sid or (None if job.from_number else messaging_service_sid)
    return OutgoingSms(
        to=job.to or "",
        body=sms_body(renderer, job),
        reference=f"msg-{job.message_id}",
        from_number=None if service else job.from_number,
        messaging_service_sid=service,
        status_callback=status_callback_url,
    )


def outgoing_email(renderer: MessageRenderer, job: SendJob, *, email_from: str) -> OutgoingEmail:
    if job.plan is not None and job.step is not None:
        email = renderer.render_email(job.plan, job.step, job.language, job.context)
        subject, text, html = email.subject, email.text, email.html
    else:
        subject, text, html = job.subject or "A message from your clinic", job.body or "", None
    return OutgoingEmail(
        to=job.to or "",
        from_address=email_from,
        subject=subject,
        text=text,
        html=html,
        reference=f"msg-{job.message_id}",
        unsubscribe_url=job.unsubscribe_url,
        reply_to=job.reply_to,
    )
