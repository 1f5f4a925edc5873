"""POST /webhooks/twilio/status through the real app: signature, forward-only statuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from followup.core.clock import FixedClock
from followup.models import MessageStatus, Patient, ScheduledMessage
from tests.delivery.support import events_of, make_clinic, make_message, make_patient
from tests.webapp import make_client

ACCOUNT = "AC" + "1" * 32
TOKEN = "status-webhook-auth-token"
URL = "https://clinic.example/webhooks/twilio/status"


@pytest.fixture
def client(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> TestClient:
    return make_client(
        engine,
        session_factory,
        clock,
        tmp_path,
        sms_transport="twilio",
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
    )


def _sent_message(session: Session, clock: FixedClock, sid: str = "SM" + "a" * 32) -> int:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    message = make_message(session, clinic, patient, None, send_at=clock.now(), body="Hi")
    message.status = MessageStatus.SENT
    message.provider_id = sid
    message.sent_at = clock.now()
    session.commit()
    return message.id


def _post(client: TestClient, status: str, sid: str = "SM" + "a" * 32, **extra: str) -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT, **extra}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    answer = client.post(
        "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature}
    )
    return answer.status_code


def test_forged_signature_is_refused_with_403(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    message_id = _sent_message(session, clock)
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    forged = RequestValidator("not-the-token").compute_signature(URL, params)
    answer = client.post(
        "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": forged}
    )
    assert answer.status_code == 403
    assert client.post("/webhooks/twilio/status", data=params).status_code == 403
    session.expire_all()
    assert session.get_one(ScheduledMessage, message_id).status is MessageStatus.SENT


def test_delivered_report_is_recorded(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    message_id = _sent_message(session, clock)
    clock.advance(timedelta(seconds=5))
    assert _post(client, "delivered") == 204
    session.expire_all()
    message = session.get_one(ScheduledMessage, message_id)
    assert message.status is MessageStatus.DELIVERED
    assert message.delivered_at == clock.now()
    assert events_of(session, message_id)[-1] == ("sent", "delivered")


def test_late_sent_after_delivered_changes_nothing(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    message_id = _sent_message(session, clock)
    assert _post(client, "delivered") == 204
    assert _post(client, "sent") == 204
    assert _post(client, "queued") == 204
    assert _post(client, "delivered") == 204  # Twilio retries: no second event
    session.expire_all()
    assert session.get_one(ScheduledMessage, message_id).status is MessageStatus.DELIVERED
    assert [to for _, to in events_of(session, message_id)] == ["delivered"]


def test_undelivered_report_records_the_code_and_a_reason(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    message_id = _sent_message(session, clock)
    assert _post(client, "undelivered", ErrorCode="30006") == 204
    session.expire_all()
    message = session.get_one(ScheduledMessage, message_id)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, "30006")
    assert message.error_message == "The number is a landline or its carrier does not accept SMS"


def test_failed_21610_report_opts_the_patient_out(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    message_id = _sent_message(session, clock)
    assert _post(client, "failed", ErrorCode="21610") == 204
    session.expire_all()
    message = session.get_one(ScheduledMessage, message_id)
    assert message.status is MessageStatus.FAILED
    assert session.get_one(Patient, message.patient_id).opted_out_at == clock.now()


def test_report_for_an_unknown_message_is_acknowledged(client: TestClient) -> None:
    assert _post(client, "delivered", sid="SM" + "f" * 32) == 204


def test_report_without_a_status_is_a_bad_request(client: TestClient) -> None:
    params = {"MessageSid": "SM" + "a" * 32}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    answer = client.post(
        "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 400
