"""The words we send on our own: auto-replies to patients and alerts to on-call staff.

Templates live beside the plan templates, so a clinic edits them the same way::

    _replies/<name>.sms.<lang>.txt      opt_out, opt_in, help, worse, urgent, thanks,
                                        ack (a reply nobody is paged for: the clinic's
                                        reading hours and when to call),
                                        delayed (the database is down: no clinic known)
    _alerts/escalation.sms.en.txt       on-call SMS
    _alerts/escalation.email.en.{subject.txt,txt}

Rendered like plan messages: Jinja2 sandbox (staff may edit them) and StrictUndefined, so
a misspelt variable fails loudly instead of sending "call  now".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path
from typing import Protocol

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from followup.core.phones import display_phone
from followup.messages.office_hours import HasOfficeHours, OfficeHours, describe_office_hours

REPLY_NAMES = ("opt_out", "opt_in", "help", "worse", "urgent", "thanks", "ack", "delayed")
# Answers that may go out with no clinic known (a number nobody owns texted STOP or HELP;
# the database is down): their templates must read well without a name or a phone.
REPLIES_WITHOUT_CLINIC = frozenset({"opt_out", "help", "ack", "delayed"})
# Answers that never name a clinic, even when one is known.
CLINIC_FREE_REPLIES = frozenset({"delayed"})
# Replies differ only by name, language and clinic: a few per clinic. The bound keeps a
# process serving many clinics from growing without limit.
_MAX_CACHED_REPLIES = 4096
_SLA_WORDS = {
    "en": ("minute", "minutes", "hour", "hours"),
    "fr": ("minute", "minutes", "heure", "heures"),
    "es": ("minuto", "minutos", "hora", "horas"),
}


class ClinicLike(HasOfficeHours, Protocol):
    """What the texts say about a clinic: an ORM Clinic, or the webhook's ClinicFacts."""

    @property
    def name(self) -> str: ...
    @property
    def contact_phone(self) -> str: ...
    @property
    def urgent_sla_minutes(self) -> int: ...
    @property
    def normal_sla_minutes(self) -> int: ...


class EscalationLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def priority(self) -> str: ...  # an EscalationPriority value
    @property
    def reason(self) -> str: ...


class ReplyTextError(Exception):
    """A reply or alert template is missing or broken; the message names the file."""


@dataclass(frozen=True)
class StaffAlert:
    sms: str
    subject: str
    email: str


def promised_time(minutes: int, lang: str) -> str:
    """'2 hours', '15 minutes', '1 heure', '2 horas': the clinic's promise, in the
    patient's words."""
    one_min, many_min, one_hour, many_hours = _SLA_WORDS.get(lang, _SLA_WORDS["en"])
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} {one_hour if hours == 1 else many_hours}"
    return f"{minutes} {one_min if minutes == 1 else many_min}"


class ReplyTexts:
    """Renders `_replies/` and `_alerts/` from one templates directory (compiled once)."""

    def __init__(self, templates_dir: Path, public_url: str = "") -> None:
        self.templates_dir = templates_dir
        self.public_url = public_url.rstrip("/")
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir), encoding="utf-8"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            lstrip_blocks=True,
            cache_size=-1,
            auto_reload=False,
        )
        self._replies: dict[tuple[str, str, str, str, str, int], str] = {}
        self._known: dict[str, bool] = {}

    def reply(self, name: str, lang: str, clinic: ClinicLike | None) -> str:
        """The auto-reply `name` in `lang` (English when that language has no file)."""
        lang = lang if self._has(f"_replies/{name}.sms.{lang}.txt") else "en"
        context = _clinic_context(clinic, lang)
        minutes = clinic.normal_sla_minutes if clinic else 120
        # Every input of the template is in the key, so a clinic edited since is a new
        # key; rendering cost as much as the rest of answering a check-in.
        key = (name, lang, context["name"], context["phone"], context["hours"], minutes)
        text = self._replies.get(key)
        if text is None:
            values = {"clinic": context, "promised": promised_time(minutes, lang)}
            text = _tidy(self._render(f"_replies/{name}.sms.{lang}.txt", values))
            if len(self._replies) >= _MAX_CACHED_REPLIES:
                self._replies.clear()
            self._replies[key] = text
        return text

    def alert(
        self, clinic: ClinicLike, escalation: EscalationLike, *, media_count: int, reminder: bool
    ) -> StaffAlert:
        """What on-call staff receive. It names no patient and quotes no reply: SMS and
        email are not private channels, so staff read the details on the dashboard."""
        urgent = escalation.priority == "urgent"
        minutes = clinic.urgent_sla_minutes if urgent else clinic.normal_sla_minutes
        context = {
            "clinic": _clinic_context(clinic, "en"),
            "escalation": {
                "id": escalation.id,
                "urgent": urgent,
                "reason": escalation.reason,
                "media_count": media_count,
                "reminder": reminder,
                "promised": promised_time(minutes, "en"),
                "url": f"{self.public_url}/escalations/{escalation.id}" if self.public_url else "",
            },
        }
        return StaffAlert(
            sms=_tidy(self._render("_alerts/escalation.sms.en.txt", context)),
            subject=" ".join(
                self._render("_alerts/escalation.email.en.subject.txt", context).split()
            ),
            email=self._render("_alerts/escalation.email.en.txt", context).strip() + "\n",
        )

    def _has(self, name: str) -> bool:
        """Whether the templates directory holds `name` (looked up once per name)."""
        known = self._known.get(name)
        if known is None:
            known = self._known[name] = (self.templates_dir / name).is_file()
        return known

    def _render(self, name: str, context: Mapping[str, object]) -> str:
        try:
            return self._env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise ReplyTextError(f"{name}: template file not found") from exc
        except jinja2.TemplateError as exc:
            raise ReplyTextError(f"{name}: {exc}") from exc


def _clinic_context(clinic: ClinicLike | None, lang: str) -> dict[str, str]:
    if clinic is None:
        return {"name": "", "phone": "", "hours": ""}
    return {
        "name": clinic.name,
        "phone": _display_phone(clinic.contact_phone),
        "hours": _hours_words(
            clinic.office_days, clinic.office_opens_at, clinic.office_closes_at, lang
        ),
    }


@cache
def _hours_words(days: int, opens: time, closes: time, lang: str) -> str:
    # A few clinics, three languages: worded once, not on every reply.
    return describe_office_hours(OfficeHours.from_columns(days, opens, closes), lang)


@dataclass(frozen=True)
class SampleClinic:
    """A clinic for checks and previews: the long sample name, default SLAs and hours."""

    name: str
    contact_phone: str
    urgent_sla_minutes: int = 15
    normal_sla_minutes: int = 120
    office_days: int = 0b0011111
    office_opens_at: time = time(9, 0)
    office_closes_at: time = time(17, 0)


@cache
def _display_phone(e164: str) -> str:
    # Parsing a number costs more than rendering the reply; clinics have one or two.
    return display_phone(e164)


def _tidy(body: str) -> str:
    # Every character costs money and may push the reply into another segment.
    lines = (" ".join(line.split()) for line in body.strip().splitlines())
    return "\n".join(line for line in lines if line)


@cache
def reply_texts(templates_dir: Path, public_url: str = "") -> ReplyTexts:
    """One compiled set per templates directory and URL, shared by requests and jobs."""
    return ReplyTexts(templates_dir, public_url)
