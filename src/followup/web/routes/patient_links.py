"""The signed links in patient emails: one-click check-in answers and unsubscribe.

GET only shows a confirmation page, because mail scanners and link previews follow links
on their own; the POST (the patient's button, or a mail client's RFC 8058 one-click
unsubscribe) is what records. The token is the credential, so these pages need no
sign-in and set no cookie. A bad link gets a plain page with the clinic's phone when the
link is authentic but stale, never a 500.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from followup.core.links import LinkError, LinkSigner, PatientLink
from followup.core.phones import display_phone
from followup.core.runtime import Runtime
from followup.models import Clinic, Patient
from followup.replies.receive import patient_clinic, receive_link_answer, unsubscribe_by_link
from followup.replies.runtime import reply_deps
from followup.web.deps import DbSession, RuntimeDep
from followup.web.pages import TEMPLATES

log = logging.getLogger(__name__)
router = APIRouter()
# Long enough to recognise any link we ever signed, to find whose clinic to point to.
_RECOGNISE_FOR = timedelta(days=3650)


class _BadLink(Exception):
    def __init__(self, reason: str, clinic: Clinic | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clinic = clinic


def _page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    clinic = context.get("clinic")
    patient = context.get("patient")
    values = {
        "lang": getattr(patient, "language", "en"),
        "clinic_phone": display_phone(clinic.contact_phone) if clinic else "",
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, name, values, status_code=status_code)
    # Patient pages are personal: keep them out of shared caches and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _signer(runtime: Runtime) -> LinkSigner:
    return LinkSigner(runtime.settings.signing_key(), runtime.settings.public_url)


def _open_link(
    session: Session, runtime: Runtime, token: str, action: str
) -> tuple[PatientLink, Patient, Clinic]:
    signer, now = _signer(runtime), runtime.clock.now()
    try:
        link = signer.read(token, now)
    except LinkError as exc:
        clinic = None
        if exc.reason == "expired":
            try:  # authentic but stale: safe to say which clinic to call
                stale = signer.read(token, now, max_age=_RECOGNISE_FOR)
                clinic = patient_clinic(session, stale.patient_id)[1]
            except LinkError:
                clinic = None
        raise _BadLink(exc.reason, clinic) from None
    patient, clinic = patient_clinic(session, link.patient_id)
    if link.action != action or patient is None or clinic is None:
        raise _BadLink("invalid", clinic)
    return link, patient, clinic


def _problem(request: Request, bad: _BadLink) -> HTMLResponse:
    log.info("patient link refused reason=%s", bad.reason)
    status = 410 if bad.reason == "expired" else 400
    return _page(
        request, "patient_link_problem.html", {"reason": bad.reason, "clinic": bad.clinic}, status
    )


@router.get("/r/{token}", include_in_schema=False)
def checkin_confirm(
    request: Request, token: str, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        link, patient, clinic = _open_link(session, runtime, token, "checkin")
    except _BadLink as bad:
        return _problem(request, bad)
    context = {"clinic": clinic, "patient": patient, "answer": link.answer, "token": token}
    return _page(request, "patient_link_confirm.html", context)


@router.post("/r/{token}", include_in_schema=False)
def checkin_record(
    request: Request, token: str, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        link, patient, clinic = _open_link(session, runtime, token, "checkin")
    except _BadLink as bad:
        return _problem(request, bad)
    outcome = receive_link_answer(session, reply_deps(runtime), link, token, runtime.clock.now())
    if outcome is None:
        return _problem(request, _BadLink("invalid", clinic))
    context = {
        "clinic": clinic,
        "patient": patient,
        "answer": link.answer,
        "duplicate": outcome.duplicate,
        "reply_text": outcome.reply_text,
    }
    return _page(request, "patient_link_done.html", context)


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_confirm(
    request: Request, token: str, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        _link, patient, clinic = _open_link(session, runtime, token, "unsubscribe")
    except _BadLink as bad:
        return _problem(request, bad)
    context = {"clinic": clinic, "patient": patient, "token": token, "done": False}
    return _page(request, "patient_link_unsubscribe.html", context)


# RFC 8058: a mail client's one-click unsubscribe POSTs "List-Unsubscribe=One-Click" here,
# with no cookie and no page; the patient's own button posts the same form.
@router.post("/u/{token}", include_in_schema=False)
def unsubscribe(
    request: Request, token: str, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        _link, patient, clinic = _open_link(session, runtime, token, "unsubscribe")
    except _BadLink as bad:
        return _problem(request, bad)
    changed = unsubscribe_by_link(session, patient, runtime.clock.now())
    log.info("email unsubscribe patient_id=%s changed=%s", patient.id, changed)
    context = {"clinic": clinic, "patient": patient, "token": token, "done": True}
    return _page(request, "patient_link_unsubscribe.html", context)
