"""An incoming SMS as Twilio's webhook delivers it: the form fields we use, checked.

Pure: the webhook route hands the verified form here and gets an InboundSms back (or
InvalidInbound), which every later step of the reply takes as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_MEDIA = 10  # Twilio delivers at most 10 attachments per MMS
MAX_BODY = 10_000  # Twilio bodies stop at 1600 characters; anything longer is not Twilio
SID_LENGTH, ADDRESS_LENGTH = 64, 254


class InvalidInbound(ValueError):
    """A webhook request that is not a usable inbound message (missing or absurd fields)."""


@dataclass(frozen=True)
class InboundSms:
    """The fields of Twilio's incoming-message webhook that we use."""

    message_sid: str
    from_number: str
    to_number: str
    body: str
    media: list[dict[str, str]]
    opt_out_type: str | None = None
    messaging_service_sid: str | None = None


def _clean(value: str | None, limit: int | None = None) -> str:
    # PostgreSQL text can't hold NUL; nothing a phone sends contains one.
    text = (value or "").replace("\x00", "")
    return text[:limit] if limit is not None else text


def parse_twilio_form(form: Mapping[str, str]) -> InboundSms:
    """Read Twilio's form fields. Raises InvalidInbound if the message can't be identified."""
    sid = _clean(form.get("MessageSid") or form.get("SmsMessageSid")).strip()
    sender = _clean(form.get("From")).strip()
    recipient = _clean(form.get("To")).strip()
    if not sid or len(sid) > SID_LENGTH:
        raise InvalidInbound("MessageSid is missing or too long")
    if not sender or not recipient or max(len(sender), len(recipient)) > ADDRESS_LENGTH:
        raise InvalidInbound("From or To is missing or too long")
    # Upper-casing can lengthen a string ("ß" -> "SS"): cut to the column size afterwards.
    opt_out_type = _clean(form.get("OptOutType")).strip().upper()[:20] or None
    return InboundSms(
        message_sid=sid,
        from_number=sender,
        to_number=recipient,
        body=_clean(form.get("Body"), MAX_BODY),
        media=_media(form),
        opt_out_type=opt_out_type,
        messaging_service_sid=_clean(form.get("MessagingServiceSid"), 64).strip() or None,
    )


def _media(form: Mapping[str, str]) -> list[dict[str, str]]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    media = []
    for index in range(max(0, min(count, MAX_MEDIA))):
        url = _clean(form.get(f"MediaUrl{index}"), 2000).strip()
        if url:
            kind = _clean(form.get(f"MediaContentType{index}"), 100).strip()
            media.append({"url": url, "content_type": kind})
    return media
