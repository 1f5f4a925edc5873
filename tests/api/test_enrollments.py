"""POST /api/v1/enrollments: same rules as the form, safe retries with Idempotency-Key."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import Language, Patient, ScheduledMessage, Treatment
from tests.api.support import ApiEnv, make_api_env


@pytest.fixture
def api(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> ApiEnv:
    return make_api_env(engine, session_factory, clock, tmp_path)


def _body(clock: FixedClock, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Maya",
        "last_name": "Rossi",
        "phone": "403 555 0101",
        "treatment": "microneedling",
        "treated_at": (clock.now() - timedelta(hours=2)).isoformat(),
        "practitioner": "Dr. Chen",
    }
    body.update(overrides)
    return body


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count(Patient.id))) or 0,
        session.scalar(select(func.count(Treatment.id))) or 0,
        session.scalar(select(func.count(ScheduledMessage.id))) or 0,
    )


def test_enrollment_creates_patient_treatment_and_schedule(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    response = api.client.post("/api/v1/enrollments", json=_body(clock), headers=api.auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert [m["step"] for m in body["messages"]] == ["day1", "day3", "day7"]
    assert response.headers["location"] == f"/api/v1/patients/{body['patient_id']}"
    assert _counts(session) == (1, 1, 3)


def test_same_key_and_body_twice_makes_one_patient_and_one_schedule(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    headers = {**api.auth, "Idempotency-Key": "booking-4711"}
    first = api.client.post("/api/v1/enrollments", json=_body(clock), headers=headers)
    second = api.client.post("/api/v1/enrollments", json=_body(clock), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _counts(session) == (1, 1, 3)


def test_same_key_with_another_body_is_refused(api: ApiEnv, clock: FixedClock) -> None:
    headers = {**api.auth, "Idempotency-Key": "booking-4712"}
    api.client.post("/api/v1/enrollments", json=_body(clock), headers=headers)
    response = api.client.post(
        "/api/v1/enrollments", json=_body(clock, first_name="Lea"), headers=headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "Idempotency-Key"


def test_duplicate_without_key_is_refused_with_a_problem(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    first = api.client.post("/api/v1/enrollments", json=_body(clock), headers=api.auth)
    again = api.client.post("/api/v1/enrollments", json=_body(clock), headers=api.auth)
    assert again.status_code == 409
    problem = again.json()
    assert again.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:followup:problem:duplicate-enrollment"
    assert problem["field"] == "body.treated_at"
    assert problem["existing_treatment_id"] == first.json()["treatment_id"]
    assert "already enrolled" in problem["detail"]
    assert _counts(session) == (1, 1, 3)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12"}, "body.phone"),
        ({"treatment": "tattoo"}, "body.treatment"),
        ({"treated_at": "2026-03-09T10:00:00+00:00"}, "body.treated_at"),
        ({"channel": "email"}, "body.email"),
        ({"treated_at": "2026-03-07T10:00:00"}, "body.treated_at"),
        ({"first_name": ""}, "body.first_name"),
        ({"first_name": "Ma\u001bya"}, "body.first_name"),
        ({"last_name": "Ro\u0000ssi"}, "body.last_name"),
        ({"practitioner": "Dr\u202e neh"}, "body.practitioner"),
        ({"consent_method": "in\nclinic"}, "body.consent_method"),
        ({"treated_at": "1999-12-31T10:00:00-07:00"}, "body.treated_at"),
        ({"treated_at": "0001-01-01T00:00:00+14:00"}, "body.treated_at"),
        ({"email": "maya@"}, "body.email"),
    ],
)
def test_invalid_enrollment_names_the_field(
    api: ApiEnv, clock: FixedClock, session: Session, overrides: dict[str, Any], field: str
) -> None:
    response = api.client.post(
        "/api/v1/enrollments", json=_body(clock, **overrides), headers=api.auth
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert _counts(session) == (0, 0, 0)


def test_enrollment_in_spanish_and_an_unknown_language(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    unknown = api.client.post(
        "/api/v1/enrollments", json=_body(clock, language="de"), headers=api.auth
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "body.language"
    assert "'en', 'fr' or 'es'" in unknown.text
    created = api.client.post(
        "/api/v1/enrollments", json=_body(clock, language="es"), headers=api.auth
    )
    assert created.status_code == 201, created.text
    shown = api.client.get(created.headers["location"], headers=api.auth)
    assert shown.json()["language"] == "es"
    patient = session.get(Patient, created.json()["patient_id"])
    assert patient is not None
    assert patient.language is Language.ES


def test_every_refused_field_is_listed(api: ApiEnv, clock: FixedClock, session: Session) -> None:
    body = _body(clock, phone="12", treatment="tattoo", treated_at="2026-03-09T10:00:00+00:00")
    response = api.client.post("/api/v1/enrollments", json=body, headers=api.auth)
    assert response.status_code == 422
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [
        "body.phone",
        "body.treatment",
        "body.treated_at",
    ]
    assert problem["field"] == "body.phone"
    assert _counts(session) == (0, 0, 0)


def test_same_name_on_another_number_is_enrolled_with_a_warning(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    first = api.client.post("/api/v1/enrollments", json=_body(clock), headers=api.auth)
    assert first.json()["warnings"] == []
    other_number = _body(clock, first_name="MAYA", phone="403 555 0102")
    second = api.client.post("/api/v1/enrollments", json=other_number, headers=api.auth)
    assert second.status_code == 201, second.text
    [warning] = second.json()["warnings"]
    assert warning["type"] == "possible-duplicate"
    assert warning["existing_treatment_id"] == first.json()["treatment_id"]
    assert warning["existing_patient_id"] == first.json()["patient_id"]
    assert _counts(session) == (2, 2, 6)


def test_a_lone_surrogate_is_a_field_error(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    # JSON can carry "\\ud800"; such text can't be stored as UTF-8.
    body = json.dumps(_body(clock, last_name="Ro\ud800ssi"))
    headers = {**api.auth, "content-type": "application/json"}
    response = api.client.post("/api/v1/enrollments", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "body.last_name"
    assert _counts(session) == (0, 0, 0)


def test_missing_or_revoked_token_is_401(api: ApiEnv, clock: FixedClock) -> None:
    missing = api.client.post("/api/v1/enrollments", json=_body(clock))
    wrong = api.client.post(
        "/api/v1/enrollments", json=_body(clock), headers={"Authorization": "Bearer fu_nope_x"}
    )
    assert missing.status_code == wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_rate_limit_per_token(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    api = make_api_env(
        engine,
        session_factory,
        clock,
        tmp_path,
        api_rate_limit_per_minute=60,
        api_rate_limit_burst=2,
    )
    codes = [api.client.get("/api/v1/escalations", headers=api.auth).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other = api.client.get(
        "/api/v1/escalations", headers={"Authorization": f"Bearer {api.other_token}"}
    )
    assert other.status_code == 200  # buckets are per token
    clock.advance(timedelta(seconds=1))
    assert api.client.get("/api/v1/escalations", headers=api.auth).status_code == 200


def test_concurrent_retries_with_one_key_enroll_once(
    api: ApiEnv, clock: FixedClock, session: Session
) -> None:
    headers = {**api.auth, "Idempotency-Key": "booking-race"}
    body = _body(clock)

    def post(_: int) -> tuple[int, int]:
        with TestClient(api.app) as client:
            response = client.post("/api/v1/enrollments", json=body, headers=headers)
            return response.status_code, response.json()["patient_id"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(post, range(4)))
    assert {status for status, _ in results} == {201}
    assert len({patient for _, patient in results}) == 1
    assert _counts(session) == (1, 1, 3)
