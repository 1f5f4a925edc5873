"""The report page, the CSV upload page and the API-token page, through the real app."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import ApiToken, Role, Treatment
from tests.enrollment.import_support import build_csv
from tests.factories import STAFF_PASSWORD, make_clinic, make_staff
from tests.reporting.seed import (
    FORMULA_NAME,
    SINCE,
    UNTIL,
    formula_cells,
    name_practitioner,
    seed_history,
)
from tests.web.uploads import upload
from tests.webapp import csrf_from, make_client, sign_in


@pytest.fixture
def client(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> TestClient:
    with session_factory() as session, session.begin():
        clinic = make_clinic(session)
        make_staff(session, clinic, "admin@example.com", Role.ADMIN)
        make_staff(session, clinic, "nurse@example.com")
    return make_client(engine, session_factory, clock, tmp_path)


def test_report_page_has_charts_tables_and_csv(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        clinic = make_clinic(
            session, name="Seeded", contact_phone="+14035550166", slug="seeded", sender_number=None
        )
        seed_history(session, clinic, random.Random(6))
        make_staff(session, clinic, "manager@example.com")
    sign_in(client, "manager@example.com", STAFF_PASSWORD)
    query = f"?since={SINCE.date()}&until={UNTIL.date()}"
    page = client.get("/reports" + query)
    assert page.status_code == 200
    assert page.text.count("<svg") == 6
    assert "Reply rate per step" in page.text
    assert "<script" not in page.text.split("<main", 1)[1]  # the charts need no JavaScript
    csv = client.get("/reports.csv" + query)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("section,group,channel,metric,value\n")
    assert "opt_outs,,,patients,40" in csv.text


def test_report_download_writes_formula_like_names_as_text(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        clinic = make_clinic(
            session, name="Seeded", contact_phone="+14035550166", slug="seeded", sender_number=None
        )
        seed_history(session, clinic, random.Random(6))
        name_practitioner(session, "Dr Adams", FORMULA_NAME)
        make_staff(session, clinic, "manager@example.com")
    sign_in(client, "manager@example.com", STAFF_PASSWORD)
    csv = client.get(f"/reports.csv?since={SINCE.date()}&until={UNTIL.date()}")
    assert csv.status_code == 200
    assert "'" + FORMULA_NAME.replace('"', '""') in csv.text
    assert formula_cells(csv.text) == []


def _treatments(sessions: sessionmaker[Session]) -> int:
    # A short session: on SQLite an open one would hold the write lock the app needs.
    with sessions() as session:
        return session.scalar(select(func.count(Treatment.id))) or 0


def test_upload_checks_then_imports_the_good_rows(
    client: TestClient, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    csv_file = build_csv(rows=20, bad_every=5, now=clock.now(), in_db=[])
    checked = upload(client, csv_file.text, mode="check")
    assert checked.status_code == 200
    assert "16</strong> can be imported" in checked.text
    assert _treatments(session_factory) == 0
    imported = upload(client, csv_file.text, mode="import")
    assert "16</strong> imported" in imported.text
    for line in csv_file.bad_lines:
        assert f"<td>{line}</td>" in imported.text
    assert _treatments(session_factory) == 16


def test_upload_without_csrf_is_refused(client: TestClient) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    files = {"file": ("t.csv", b"first_name\n", "text/csv")}
    assert client.post("/import", files=files).status_code == 403


def test_admin_creates_a_token_seen_once_and_revokes_it(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, "admin@example.com", STAFF_PASSWORD)
    token = csrf_from(client.get("/settings/api-tokens").text)
    created = client.post("/settings/api-tokens", data={"csrf_token": token, "name": "Jane"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    with session_factory() as session:
        stored = session.scalars(select(ApiToken)).one()
    secret = created.text.split('<code id="new-token">')[1].split("<")[0]
    assert secret.startswith(stored.prefix)
    listing = client.get("/settings/api-tokens").text
    assert stored.prefix in listing
    assert secret not in listing
    revoked = client.post(
        f"/settings/api-tokens/{stored.id}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    with session_factory() as session:
        assert session.scalars(select(ApiToken)).one().revoked_at is not None


def test_staff_who_are_not_admins_cannot_manage_tokens(client: TestClient) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    assert client.get("/settings/api-tokens").status_code == 403


def test_api_is_mounted_on_the_dashboard_app(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "followup API"
    assert client.get("/api/v1/escalations").status_code == 401
