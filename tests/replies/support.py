"""Replies under test: the app on a real database, and requests built exactly as Twilio
builds them (its form fields, signed with the SDK's RequestValidator over the public URL)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from followup.core.clock import FixedClock
from followup.core.config import load_settings
from followup.core.runtime import Runtime
from followup.models import Clinic, OnCallContact, Patient, Treatment
from followup.web.app import create_app
from tests.factories import TEMPLATES_DIR, make_clinic, make_enrollment

PUBLIC_URL = "https://followup.example.org"
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
ACCOUNT_SID = "AC" + "a" * 32
SMS_PATH = "/webhooks/twilio/sms"
CLINIC_NUMBER = "+14035550199"
PATIENT_PHONE = "+14035550101"
_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


def make_runtime(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    **extra: object,
) -> Runtime:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "secret_key": "test-secret-key-" + "x" * 32,
        "templates_dir": TEMPLATES_DIR,
        "public_url": PUBLIC_URL,
        "twilio_auth_token": AUTH_TOKEN,
        # The longest budget allowed: a test about what a reply does must not see it spooled
        # because a busy machine was slow. Tests of the budget itself pass their own.
        "reply_budget_seconds": 10.0,
    }
    values.update(extra)
    return Runtime(settings=load_settings(**values), engine=engine, sessions=sessions, clock=clock)


def twilio_params(
    body: str,
    *,
    sid: str | None = None,
    sender: str = PATIENT_PHONE,
    to: str = CLINIC_NUMBER,
    media: list[tuple[str, str]] | None = None,
    opt_out_type: str | None = None,
) -> dict[str, str]:
    """The fields Twilio posts for an incoming SMS/MMS (docs: "Twilio's request to your
    incoming message webhook")."""
    sid = sid or new_sid()
    params = {
        "ToCountry": "CA",
        "ToState": "AB",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media or [])),
        "ToCity": "CALGARY",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "AB",
        "SmsStatus": "received",
        "FromCity": "CALGARY",
        "Body": body,
        "FromCountry": "CA",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media or []):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    if opt_out_type:
        params["OptOutType"] = opt_out_type
    return params


def sign(params: Mapping[str, str], path: str = SMS_PATH, token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(PUBLIC_URL + path, dict(params)))


@dataclass
class Replies:
    """The webhook as Twilio sees it, plus the rows a test looks at."""

    client: TestClient
    sessions: sessionmaker[Session]
    clock: FixedClock
    runtime: Runtime

    def post(self, params: Mapping[str, str], signature: str | None = None) -> Response:
        headers = {"X-Twilio-Signature": sign(params) if signature is None else signature}
        response: Response = self.client.post(SMS_PATH, data=dict(params), headers=headers)
        return response

    def text(self, body: str, **fields: object) -> Response:
        return self.post(twilio_params(body, **fields))  # type: ignore[arg-type]

    def count(self, model: type) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


def make_replies(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    **extra: object,
) -> Replies:
    runtime = make_runtime(engine, sessions, clock, tmp_path, **extra)
    client = TestClient(create_app(runtime), base_url=PUBLIC_URL, raise_server_exceptions=True)
    return Replies(client=client, sessions=sessions, clock=clock, runtime=runtime)


@dataclass(frozen=True)
class World:
    clinic_id: int
    patient_id: int
    treatment_id: int


def make_world(session: Session, clock: FixedClock, **enrollment: object) -> World:
    """A clinic with two on-call contacts (one for urgent only, one inactive) and an enrolled
    microneedling patient."""
    clinic = make_clinic(session, contact_email="front@clinic.example")
    session.add_all(
        [
            OnCallContact(
                clinic_id=clinic.id,
                name="Nurse",
                phone="+14035550111",
                email="nurse@clinic.example",
            ),
            OnCallContact(
                clinic_id=clinic.id, name="Doctor", phone="+14035550112", urgent_only=True
            ),
            OnCallContact(clinic_id=clinic.id, name="Away", phone="+14035550113", active=False),
        ]
    )
    result = make_enrollment(session, clinic, now=clock.now(), **enrollment)  # type: ignore[arg-type]
    session.flush()
    return World(clinic.id, result.patient.id, result.treatment.id)


def load(session: Session, world: World) -> tuple[Clinic, Patient, Treatment]:
    clinic = session.get(Clinic, world.clinic_id)
    patient = session.get(Patient, world.patient_id)
    treatment = session.get(Treatment, world.treatment_id)
    assert clinic
    assert patient
    assert treatment
    return clinic, patient, treatment
