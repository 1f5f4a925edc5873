"""Reading patients, their messages and escalations; opting out. Always scoped to the
token's clinic."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import (
    Escalation,
    EscalationPriority,
    EscalationStatus,
    MessageStatus,
    ScheduledMessage,
)
from tests.api.support import ApiEnv, make_api_env
from tests.factories import make_enrollment


@pytest.fixture
def api(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> ApiEnv:
    return make_api_env(engine, session_factory, clock, tmp_path)


def _enroll(session: Session, api: ApiEnv, clock: FixedClock) -> int:
    with session.begin():
        result = make_enrollment(session, api.clinic, now=clock.now())
        return result.patient.id


def test_patient_and_messages(api: ApiEnv, clock: FixedClock, session: Session) -> None:
    patient_id = _enroll(session, api, clock)
    patient = api.client.get(f"/api/v1/patients/{patient_id}", headers=api.auth)
    messages = api.client.get(f"/api/v1/patients/{patient_id}/messages", headers=api.auth)
    assert patient.status_code == 200
    assert patient.json()["treatments"][0]["kind"] == "microneedling"
    assert [m["step"] for m in messages.json()] == ["day1", "day3", "day7"]


def test_another_clinics_patient_is_404(api: ApiEnv, clock: FixedClock, session: Session) -> None:
    patient_id = _enroll(session, api, clock)
    other = {"Authorization": f"Bearer {api.other_token}"}
    for path in (f"/patients/{patient_id}", f"/patients/{patient_id}/messages"):
        response = api.client.get("/api/v1" + path, headers=other)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    opt_out = api.client.post(f"/api/v1/patients/{patient_id}/opt-out", headers=other)
    assert opt_out.status_code == 404


def test_opt_out_cancels_pending_messages(api: ApiEnv, clock: FixedClock, session: Session) -> None:
    patient_id = _enroll(session, api, clock)
    first = api.client.post(f"/api/v1/patients/{patient_id}/opt-out", headers=api.auth)
    clock.advance(timedelta(minutes=1))
    again = api.client.post(f"/api/v1/patients/{patient_id}/opt-out", headers=api.auth)
    assert first.json()["cancelled_messages"] == 3
    assert again.json() == {**first.json(), "cancelled_messages": 0}
    statuses = set(session.scalars(select(ScheduledMessage.status)))
    assert statuses == {MessageStatus.CANCELLED}


def test_open_escalations_only_of_this_clinic(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    patient_id = _enroll(session, api, clock)
    with session.begin():
        for status in (EscalationStatus.OPEN, EscalationStatus.RESOLVED):
            session.add(
                Escalation(
                    clinic_id=api.clinic.id,
                    patient_id=patient_id,
                    priority=EscalationPriority.URGENT,
                    status=status,
                    reason="worse",
                    opened_at=clock.now(),
                )
            )
    mine = api.client.get("/api/v1/escalations?status=open", headers=api.auth)
    theirs = api.client.get(
        "/api/v1/escalations", headers={"Authorization": f"Bearer {api.other_token}"}
    )
    assert [e["status"] for e in mine.json()] == ["open"]
    assert theirs.json() == []


def test_openapi_and_docs_are_served(api: ApiEnv) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert set(spec["paths"]) >= {"/enrollments", "/patients/{patient_id}", "/escalations"}
    error = spec["paths"]["/enrollments"]["post"]["responses"]["409"]
    assert list(error["content"]) == ["application/problem+json"]
    docs = api.client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "POST /enrollments" in docs.text
    assert "<script" not in docs.text  # no CDN, no JavaScript
