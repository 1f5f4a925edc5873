"""`followup replies simulate`: play the patient. Text the clinic's number as Twilio would
deliver it: the form fields of Twilio's incoming-message webhook, signed with the SDK's
RequestValidator, posted to the running app at FOLLOWUP_PUBLIC_URL; the TwiML the app
answers (the automatic answer, if any) is printed.

The signature covers the URL posted to, and the app checks it against its own public URL,
so this command must run with the app's settings (same directory, same environment).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import httpx
import typer
from twilio.request_validator import RequestValidator

from followup.admin.clinics import ClinicError, get_clinic
from followup.cli.common import console, err_console, fail, runtime
from followup.core.config import Settings
from followup.core.phones import InvalidPhone, normalize_phone
from followup.models import Clinic

WEBHOOK_PATH = "/webhooks/twilio/sms"
FAILED = 1


def simulate_command(
    text: Annotated[str, typer.Argument(help="What the patient texts, e.g. WORSE.")],
    clinic_slug: Annotated[
        str, typer.Option("--clinic", help="Clinic slug: the text goes to its number.")
    ],
    sender: Annotated[
        str,
        typer.Option("--from", help="The patient's phone, written any way (clinic's country)."),
    ],
    media: Annotated[
        list[str] | None,
        typer.Option("--media", help="A photo's https URL (repeat for several), as MMS."),
    ] = None,
) -> None:
    """Text the clinic as a patient: post a signed reply to the running app and print the
    TwiML it answers."""
    with runtime() as rt:
        settings = rt.settings
        with rt.sessions() as session:
            try:
                clinic = get_clinic(session, clinic_slug)
                from_number = normalize_phone(sender, clinic.country, require_mobile=False)
            except (ClinicError, InvalidPhone) as exc:
                fail(str(exc))
            form = twilio_form(settings, clinic, from_number, text, media or [])
    url = settings.public_url + WEBHOOK_PATH
    headers = {}
    token = settings.webhook_auth_token()
    if token is None:
        err_console.print(
            "no FOLLOWUP_TWILIO_AUTH_TOKEN: posting unsigned; the app will refuse it (403)"
        )
    else:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, form)
        if settings.twilio_auth_token is None:
            err_console.print(
                f"signed with the development token in {settings.dev_webhook_token_path}"
                " (no FOLLOWUP_TWILIO_AUTH_TOKEN; the app checks it with the console SMS"
                " transport)",
                highlight=False,
                soft_wrap=True,
            )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the answer is printed below
    try:
        response = httpx.post(url, data=form, headers=headers, timeout=20)
    except httpx.HTTPError as exc:
        fail(f"nothing answers at {url} ({exc}): is the app running (make run)?", FAILED)
    if response.status_code != 200:
        fail(_refused(response, url), FAILED)
    console.print(response.text, markup=False, highlight=False, soft_wrap=True)


def twilio_form(
    settings: Settings, clinic: Clinic, from_number: str, text: str, media: list[str]
) -> dict[str, str]:
    """The fields Twilio posts for an incoming message to `clinic`'s number."""
    to_number = clinic.sender_number
    if to_number is None:
        # Through a Messaging Service the patient texts one of its pool's numbers, which
        # only Twilio knows: give the clinic its own number to play the patient.
        fail(f"clinic {clinic.slug!r} has no number of its own (followup clinic add --sender)")
    service = clinic.messaging_service_sid
    sid = "SM" + uuid.uuid4().hex
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "From": from_number,
        "To": to_number,
        "Body": text,
        "NumSegments": "1",
        "NumMedia": str(len(media)),
    }
    if service is not None:
        form["MessagingServiceSid"] = service
    for index, url in enumerate(media):
        form[f"MediaUrl{index}"] = url
        form[f"MediaContentType{index}"] = "image/jpeg"
    return form


def _refused(response: httpx.Response, url: str) -> str:
    if response.status_code == 403:
        return (
            f"the app refused the signature (403) at {url}: run this command with the app's"
            " own settings (FOLLOWUP_PUBLIC_URL, FOLLOWUP_TWILIO_AUTH_TOKEN, the same"
            " FOLLOWUP_DATA_DIR)"
        )
    return f"the app answered HTTP {response.status_code} at {url}: {response.text[:200]}"
