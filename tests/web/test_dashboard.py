"""The staff dashboard pages through the real app: Today, the escalation queue and its
actions, the patient page and its actions, enrollment with preview, templates, settings."""

from __future__ import annotations

import re
from datetime import time

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.models import (
    AuditEvent,
    Clinic,
    Escalation,
    EscalationStatus,
    InboundMessage,
    Language,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from, preview_digest


def _post(staff_client: TestClient, page: str, action: str, data: dict[str, str]) -> str:
    """Submit a form the way a browser does: token from the page, follow the redirect."""
    token = csrf_from(staff_client.get(page).text)
    response = staff_client.post(action, data={"csrf_token": token, **data})
    assert response.status_code == 200, response.text
    return response.text


def test_home_goes_to_today(staff_client: TestClient) -> None:
    response = staff_client.get("/", follow_redirects=False)
    assert response.headers["location"] == "/today"


def test_today_shows_open_escalation_failed_message_and_outgoing(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    page = staff_client.get("/today").text
    assert "Maya" in page
    assert "Zed" not in page
    assert "urgent" in page
    assert "worse, fever" in page
    failed = _section(page, "h-failed")
    # The failed day-1 message needs a person: one row, Maya's, marked failed.
    assert "No failed or unclear messages." not in failed
    assert failed.count("<tr>") == 2  # the header row and Maya's message
    assert f'href="/patients/{two_clinics[0].patient.id}"' in failed
    assert 'class="status status-failed"' in failed


def test_today_says_so_when_no_message_needs_a_person(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        message = session.get_one(ScheduledMessage, two_clinics[0].message.id)
        message.status = MessageStatus.DELIVERED
    failed = _section(staff_client.get("/today").text, "h-failed")
    assert "No failed or unclear messages." in failed
    assert "status-failed" not in failed


def _section(page: str, heading_id: str) -> str:
    """The HTML of the page section that the heading with this id labels."""
    start = page.index(f'<section aria-labelledby="{heading_id}">')
    return page[start : page.index("</section>", start)]


def test_queue_filters_and_partial(staff_client: TestClient) -> None:
    assert "Maya" in staff_client.get("/escalations?priority=urgent").text
    assert "Maya" not in staff_client.get("/escalations?priority=inbox").text
    assert "Nothing waiting" in staff_client.get("/escalations?status=resolved").text
    rows = staff_client.get("/escalations/rows", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert "Maya" in rows.text
    assert "<html" not in rows.text
    badge = staff_client.get("/escalations/badge", headers={"HX-Request": "true"}).text
    assert 'data-testid="open-badge">1' in badge


def test_escalation_acknowledge_reply_note_resolve(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    escalation_id = two_clinics[0].escalation.id
    page = f"/escalations/{escalation_id}"
    assert "Acknowledged." in _post(staff_client, page, f"{page}/acknowledge", {})
    assert "Reply queued" in _post(staff_client, page, f"{page}/reply", {"body": "Please call us"})
    assert "Note added." in _post(staff_client, page, f"{page}/note", {"body": "Left a voicemail"})
    assert "Resolved." in _post(
        staff_client, page, f"{page}/resolve", {"outcome": "Normal healing"}
    )
    again = _post(staff_client, page, f"{page}/acknowledge", {})
    assert "already resolved" in again  # an error shown, not a 500
    with session_factory() as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation is not None
        assert escalation.status is EscalationStatus.RESOLVED
        reply = session.scalar(
            select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.STAFF_REPLY)
        )
        assert reply is not None
        assert reply.body == "Please call us"
    timeline = staff_client.get(f"/patients/{two_clinics[0].patient.id}").text
    for text in ("Please call us", "Left a voicemail", "Normal healing", "worse, fever"):
        assert text in timeline


def test_patient_page_is_audited_and_shows_local_times(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    patient_id = two_clinics[0].patient.id
    page = staff_client.get(f"/patients/{patient_id}").text
    assert "Sun Mar 8, 10:00" in page  # day 1 at 10:00 Edmonton (MST), stored 17:00 UTC
    assert "America/Edmonton" in page
    with session_factory() as session:
        views = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "patient.view", AuditEvent.target_id == patient_id
            )
        ).all()
    assert len(views) == 1
    assert views[0].actor == two_clinics[0].staff.email


def test_pause_resume_cancel_reschedule_resend(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    page = f"/patients/{rows.patient.id}"
    with session_factory() as session:
        treatment = session.scalars(
            select(Treatment).where(Treatment.patient_id == rows.patient.id)
        ).one()
        waiting = session.scalars(
            select(ScheduledMessage)
            .where(
                ScheduledMessage.treatment_id == treatment.id,
                ScheduledMessage.status == MessageStatus.SCHEDULED,
            )
            .order_by(ScheduledMessage.send_at)
        ).all()
    base = f"{page}/treatments/{treatment.id}"
    assert "Plan paused." in _post(staff_client, page, f"{base}/pause", {})
    assert "Plan resumed." in _post(staff_client, page, f"{base}/resume", {})
    first, second = waiting[0], waiting[1]
    assert "Message cancelled." in _post(
        staff_client, page, f"{page}/messages/{first.id}/cancel", {}
    )
    moved = _post(
        staff_client,
        page,
        f"{page}/messages/{second.id}/reschedule",
        {"send_at": "2026-03-12T11:30"},
    )
    assert "Message rescheduled to Thu Mar 12, 11:30." in moved
    resent = _post(staff_client, page, f"{page}/messages/{rows.message.id}/resend", {})
    assert "queued to send again" in resent
    with session_factory() as session:
        statuses = {m.id: m.status for m in session.scalars(select(ScheduledMessage))}
        moved_row = session.get(ScheduledMessage, second.id)
    assert statuses[first.id] is MessageStatus.CANCELLED
    assert statuses[rows.message.id] is MessageStatus.SCHEDULED
    assert moved_row is not None
    assert moved_row.send_at.isoformat() == "2026-03-12T17:30:00+00:00"


def test_opt_out_and_consent_by_phone(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    page = f"/patients/{two_clinics[0].patient.id}"
    assert "Opt-out recorded" in _post(staff_client, page, f"{page}/opt-out", {})
    with session_factory() as session:
        pending = session.scalars(
            select(ScheduledMessage).where(
                ScheduledMessage.patient_id == two_clinics[0].patient.id,
                ScheduledMessage.kind == MessageKind.PLAN,
                ScheduledMessage.status == MessageStatus.SCHEDULED,
            )
        ).all()
    assert pending == []
    assert "Consent recorded." in _post(staff_client, page, f"{page}/consent", {})
    with session_factory() as session:
        patient = session.get(Patient, two_clinics[0].patient.id)
        assert patient is not None
        assert patient.opted_out_at is None
        assert patient.consent_method == "phone"


def _enroll_form(**overrides: str) -> dict[str, str]:
    form = {
        "first_name": "Nora",
        "last_name": "Blake",
        "phone": "403 555 0142",
        "channel": "sms",
        "language": "en",
        "treatment": "microneedling",
        "treated_at": "2026-03-07T13:30",
        "consent": "yes",
    }
    form.update(overrides)
    return form


def test_enroll_previews_then_confirms(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    preview = _post(staff_client, "/enroll", "/enroll", _enroll_form())
    assert 'data-testid="schedule-preview"' in preview
    assert "Sun Mar 8, 10:00" in preview
    with session_factory() as session:
        assert session.scalar(select(Patient).where(Patient.first_name == "Nora")) is None
    digest = preview_digest(preview)
    done = _post(
        staff_client, "/enroll", "/enroll", _enroll_form(step="confirm", preview_digest=digest)
    )
    assert "Nora Blake is enrolled" in done


def test_enroll_offers_spanish_and_refuses_an_unknown_language(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    page = staff_client.get("/enroll").text
    assert '<option value="es" >Spanish</option>' in page
    token = csrf_from(page)
    unknown = staff_client.post(
        "/enroll", data={"csrf_token": token, **_enroll_form(language="de")}
    )
    assert unknown.status_code == 422
    assert 'id="err-language"' in unknown.text
    assert "is not a language we write messages in (use one of: en, fr, es)" in unknown.text
    preview = staff_client.post(
        "/enroll", data={"csrf_token": token, **_enroll_form(language="es")}
    )
    confirm = _enroll_form(
        language="es", step="confirm", preview_digest=preview_digest(preview.text)
    )
    done = _post(staff_client, "/enroll", "/enroll", confirm)
    assert "Nora Blake is enrolled" in done
    with session_factory() as session:
        nora = session.scalars(select(Patient).where(Patient.first_name == "Nora")).one()
        assert nora.language is Language.ES


def test_enroll_shows_field_errors_and_duplicates(staff_client: TestClient) -> None:
    token = csrf_from(staff_client.get("/enroll").text)
    bad = staff_client.post("/enroll", data={"csrf_token": token, **_enroll_form(phone="12")})
    assert bad.status_code == 422
    assert 'id="err-phone"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    no_consent = staff_client.post(
        "/enroll", data={"csrf_token": token, **_enroll_form(consent="")}
    )
    assert 'id="err-consent"' in no_consent.text
    first = staff_client.post("/enroll", data={"csrf_token": token, **_enroll_form()})
    confirm = _enroll_form(step="confirm", preview_digest=preview_digest(first.text))
    staff_client.post("/enroll", data={"csrf_token": token, **confirm})
    again = staff_client.post("/enroll", data={"csrf_token": token, **_enroll_form()})
    assert 'data-testid="duplicate-warning"' in again.text
    confirm_again = _enroll_form(step="confirm", preview_digest=preview_digest(again.text))
    refused = staff_client.post("/enroll", data={"csrf_token": token, **confirm_again})
    assert refused.status_code == 409
    assert 'data-testid="duplicate-error"' in refused.text


def test_templates_page_shows_encoding_and_segments(staff_client: TestClient) -> None:
    page = staff_client.get("/templates").text
    assert "microneedling" in page
    assert "segment" in page
    assert re.search(r"GSM-7|UCS-2", page)


def test_settings_save_timing_on_call_and_staff(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    saved = _post(
        staff_client,
        "/settings",
        "/settings/clinic",
        {
            "timezone": "America/Toronto",
            "default_send_time": "09:30",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "urgent_sla_minutes": "10",
            "normal_sla_minutes": "90",
        },
    )
    assert "Clinic settings saved." in saved
    assert "America/Toronto" in saved
    added = _post(
        staff_client,
        "/settings",
        "/settings/on-call",
        {"name": "Dr. Okafor", "phone": "403 555 0177", "urgent_only": "yes"},
    )
    assert "On-call contact added." in added
    assert "Dr. Okafor" in added
    bad = _post(
        staff_client,
        "/settings",
        "/settings/staff",
        {"email": "new@a.example", "password": "short", "role": "staff"},
    )
    assert "Not saved" in bad
    ok = _post(
        staff_client,
        "/settings",
        "/settings/staff",
        {"email": "new@a.example", "password": "a-long-enough-pass", "role": "staff"},
    )
    assert "Staff account created." in ok


def test_settings_office_hours_are_validated_audited_and_shown_in_each_language(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    page = staff_client.get("/settings").text
    assert "Monday to Friday, 9 am to 5 pm" in page  # the default
    token = csrf_from(page)

    def save(days: list[str], opens: str, closes: str) -> str:
        form = {"csrf_token": token, "office_opens_at": opens, "office_closes_at": closes}
        response = staff_client.post("/settings/office-hours", data={**form, "office_days": days})
        assert response.status_code == 200, response.text
        return response.text

    saved = save(["mon", "wed", "sat"], "10:00", "14:00")
    assert "Office hours saved." in saved
    assert "Monday, Wednesday and Saturday, 10 am to 2 pm" in saved
    assert "le lundi, le mercredi et le samedi, de 10 h à 14 h" in saved
    assert "los lunes, miércoles y sábados, de 10:00 a 14:00" in saved
    assert "Not saved: office hours must close later in the day than they open" in save(
        ["mon"], "17:00", "09:00"
    )
    assert "Not saved: choose at least one day" in save([], "09:00", "17:00")
    with session_factory() as session:
        clinic = session.get_one(Clinic, two_clinics[0].clinic.id)
        assert (clinic.office_days, clinic.office_opens_at) == (0b0100101, time(10, 0))
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "settings.office_hours")
        ).all()
    assert event.detail["changed"] == {
        "office_days": "mon,wed,sat",
        "office_opens_at": "10:00",
        "office_closes_at": "14:00",
    }


def test_audit_log_lists_views_for_admins(staff_client: TestClient) -> None:
    staff_client.get("/patients")
    page = staff_client.get("/audit?action=patient.").text
    assert "patient.list" in page


def test_reschedule_into_quiet_hours_moves_to_their_end(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    rows = two_clinics[0]
    page = f"/patients/{rows.patient.id}"
    html = staff_client.get(page).text
    scheduled = re.findall(r"/messages/(\d+)/reschedule", html)
    moved = _post(
        staff_client,
        page,
        f"{page}/messages/{scheduled[0]}/reschedule",
        {"send_at": "2026-03-12T23:15"},
    )
    assert "Message rescheduled to Fri Mar 13, 08:00 (moved out of quiet hours)." in moved


def test_admin_cannot_remove_their_own_admin_access(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    me = two_clinics[0].staff.id
    refused = _post(
        staff_client, "/settings", f"/settings/staff/{me}", {"role": "staff", "active": "yes"}
    )
    assert "Not saved: you can&#39;t remove your own admin access" in refused
    bad_zone = _post(
        staff_client,
        "/settings",
        "/settings/clinic",
        {
            "timezone": "Mars/Olympus",
            "default_send_time": "10:00",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "urgent_sla_minutes": "15",
            "normal_sla_minutes": "120",
        },
    )
    assert "unknown time zone" in bad_zone


def test_photos_are_linked_only_when_https(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    photo = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    with session_factory.begin() as session:
        escalation = session.get(Escalation, rows.escalation.id)
        assert escalation is not None
        reply = session.get(InboundMessage, escalation.inbound_message_id)
        assert reply is not None
        reply.media = [
            {"url": photo, "content_type": "image/jpeg"},
            {"url": "javascript:alert(1)", "content_type": "image/png"},
        ]
    for page in (f"/escalations/{rows.escalation.id}", f"/patients/{rows.patient.id}"):
        html = staff_client.get(page).text
        assert f'href="{photo}"' in html
        assert "javascript:" not in html
        assert "Photo 2 (link withheld)" in html


def test_settings_save_sms_name_and_retention_validated_and_audited(
    staff_client: TestClient,
    session_factory: sessionmaker[Session],
    two_clinics: tuple[ClinicRows, ClinicRows],
) -> None:
    mine, other = two_clinics
    saved = _post(
        staff_client,
        "/settings",
        "/settings/sms-name-retention",
        {"sms_name": "  Bow  River ", "retention_days": "400"},
    )
    assert "SMS name and retention saved." in saved
    assert 'value="Bow River"' in saved
    assert 'value="400"' in saved
    for data, why in (
        ({"sms_name": "x" * 41, "retention_days": ""}, "at most 40 characters"),
        ({"sms_name": "Clinique Été ✨", "retention_days": ""}, "basic phone"),
        ({"sms_name": "", "retention_days": "7"}, "between 30 and 3650 days"),
        ({"sms_name": "", "retention_days": "soon"}, "not a number of days"),
    ):
        refused = _post(staff_client, "/settings", "/settings/sms-name-retention", data)
        assert "Not saved" in refused
        assert why in refused
    cleared = _post(
        staff_client, "/settings", "/settings/sms-name-retention", {"retention_days": ""}
    )
    assert "SMS name and retention saved." in cleared
    with session_factory() as session:
        clinic = session.get_one(Clinic, mine.clinic.id)
        assert (clinic.sms_name, clinic.retention_days) == (None, None)
        assert session.get_one(Clinic, other.clinic.id).retention_days is None
        audited = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "settings.sms_name_retention")
            .order_by(AuditEvent.id)
        ).all()
    assert audited == [
        {"changed": {"sms_name": "Bow River", "retention_days": 400}},
        {"changed": {"sms_name": None, "retention_days": None}},
    ]
