"""Message rendering: plan step x channel x language -> text. Pure: reads template files only.

Templates live under ``templates/messages/``::

    <plan>/<step>.sms.<lang>.txt
    <plan>/<step>.email.<lang>.subject.txt
    <plan>/<step>.email.<lang>.txt
    <plan>/<step>.email.<lang>.html
    _partials/...            shared pieces: red-flag symptoms, contact line, opt-out line

Templates run in Jinja2's sandbox (clinic staff may edit them) with StrictUndefined,
so a typo in a variable name fails loudly instead of sending "Hi ,". HTML is
autoescaped only in ``.html`` files.
"""

from __future__ import annotations

import copy
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from followup.messages.plans import available_plans, load_plan
from followup.messages.segments import SmsAnalysis, analyze_sms

__all__ = [
    "LANGUAGES",
    "Channel",
    "MessageRenderer",
    "RenderedEmail",
    "RenderedSms",
    "SmsBudget",
    "TemplateRef",
    "TemplateRenderError",
    "default_templates_dir",
    "sample_context",
    "sms_budget",
]

Channel = Literal["sms", "email"]
LANGUAGES = ("en", "fr", "es")

_FILE_RE = re.compile(
    r"^(?P<step>[a-z0-9][a-z0-9_-]*)\.(?P<channel>sms|email)\.(?P<lang>[a-z]{2}(?:-[A-Z]{2})?)"
    r"\.(?:txt|html|subject\.txt)$"
)
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class SmsBudget:
    """What one SMS may cost: the encoding it must travel in and its most segments."""

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int

    def problems(self, analysis: SmsAnalysis) -> list[str]:
        """Why `analysis` is over this budget (empty when it is within it)."""
        problems = []
        if analysis.encoding != self.encoding:
            problems.append(f"{analysis.encoding}, not {self.encoding}")
        if analysis.segments > self.segments:
            problems.append(f"{analysis.segments} SMS segments (max {self.segments})")
        return problems


# Every language's texts travel as GSM-7 (153 characters a segment once split, against
# 67 for UCS-2). Spanish too: its templates use only the accents GSM-7 carries (é, ñ, ü,
# ¿, ¡) and choose words that need no á, í, ó or ú; in UCS-2 the when-to-call list alone
# would take two segments (README, "Languages and SMS encoding").
SMS_ENCODINGS: dict[str, Literal["GSM-7", "UCS-2"]] = {"en": "GSM-7", "fr": "GSM-7", "es": "GSM-7"}
# A plan step carries the day's advice and the complete list of reasons to call and to
# call 911: three segments. Automatic replies say one thing each: two.
PLAN_SMS_SEGMENTS = 3
REPLY_SMS_SEGMENTS = 2


def sms_budget(lang: str, *, reply: bool = False) -> SmsBudget:
    """The budget of a plan SMS (or, with `reply`, an automatic reply) in `lang`."""
    segments = REPLY_SMS_SEGMENTS if reply else PLAN_SMS_SEGMENTS
    return SmsBudget(SMS_ENCODINGS.get(lang, "GSM-7"), segments)


class TemplateRenderError(Exception):
    """A template that cannot be rendered; the message is one line naming file and line."""


@dataclass(frozen=True, order=True)
class TemplateRef:
    """One renderable message: a plan step on one channel in one language."""

    plan: str
    step: str
    channel: Channel
    lang: str


@dataclass(frozen=True)
class RenderedSms:
    """An SMS body ready to send, with its carrier segment analysis.

    The analysis is computed on first use and kept: the sender needs only the body, and the
    analysis costs as much as the render itself.
    """

    template: str
    body: str

    @cached_property
    def analysis(self) -> SmsAnalysis:
        return analyze_sms(self.body)


@dataclass(frozen=True)
class RenderedEmail:
    """An email's subject, plain-text part and HTML part."""

    template: str
    subject: str
    text: str
    html: str


def default_templates_dir() -> Path:
    """The repository's templates/messages, else ./templates/messages.

    Deliberately does not read the environment: configuration belongs to Settings.
    """
    in_repo = Path(__file__).resolve().parents[3] / "templates" / "messages"
    return in_repo if in_repo.is_dir() else Path.cwd() / "templates" / "messages"


class MessageRenderer:
    """Renders message templates from one directory; compiled templates are cached."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir), encoding="utf-8"),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            keep_trailing_newline=False,
            lstrip_blocks=True,
            # The worker renders thousands per second: keep every compiled template and
            # skip the per-render mtime check (a template edit takes effect on restart).
            cache_size=-1,
            auto_reload=False,
        )

    def render_sms(
        self, plan: str, step: str, lang: str, context: Mapping[str, object]
    ) -> RenderedSms:
        """Render ``<plan>/<step>.sms.<lang>.txt``; the body is trimmed and tidied."""
        name = f"{plan}/{step}.sms.{lang}.txt"
        body = _tidy_sms(self._render(name, lang, context))
        return RenderedSms(template=name, body=body)

    def render_email(
        self, plan: str, step: str, lang: str, context: Mapping[str, object]
    ) -> RenderedEmail:
        """Render the subject, text and HTML of ``<plan>/<step>.email.<lang>``."""
        stem = f"{plan}/{step}.email.{lang}"
        subject = self._render(f"{stem}.subject.txt", lang, context)
        return RenderedEmail(
            template=stem,
            subject=" ".join(subject.split()),
            text=_tidy_text(self._render(f"{stem}.txt", lang, context)),
            html=self._render(f"{stem}.html", lang, context).strip() + "\n",
        )

    def template_names(self) -> list[TemplateRef]:
        """Every (plan, step, channel, lang) with at least one template file present."""
        refs: set[TemplateRef] = set()
        for plan_name in available_plans(self.templates_dir):
            steps = {step.name for step in load_plan(self.templates_dir, plan_name).steps}
            for path in (self.templates_dir / plan_name).iterdir():
                match = _FILE_RE.match(path.name)
                if match and match["step"] in steps:
                    channel: Channel = "sms" if match["channel"] == "sms" else "email"
                    refs.add(TemplateRef(plan_name, match["step"], channel, match["lang"]))
        return sorted(refs)

    def _render(self, name: str, lang: str, context: Mapping[str, object]) -> str:
        cause: Exception
        try:
            template = self._env.get_template(name)
            return template.render({**context, "lang": lang})
        except jinja2.TemplateSyntaxError as exc:
            where, cause = exc.name or exc.filename or name, exc
            problem = f"{where} line {exc.lineno}: syntax error: {exc.message}"
        except jinja2.TemplateNotFound as exc:
            problem, cause = f"{name}: template file not found ({exc.name})", exc
        except jinja2.UndefinedError as exc:
            problem, cause = f"{self._failing_location(exc, name)}: undefined: {exc}", exc
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            # Expressions in a template can fail like any Python expression ({{ 1/0 }}).
            cause = exc
            problem = f"{self._failing_location(exc, name)}: {type(exc).__name__}: {exc}"
        # Callers log and show this: keep it to one line.
        raise TemplateRenderError(" ".join(problem.split())) from cause

    def _failing_location(self, exc: BaseException, fallback: str) -> str:
        # Jinja rewrites tracebacks so template frames carry the template's file name
        # and line; the innermost one is where the error is (maybe inside a partial).
        root = self.templates_dir.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if not frame.filename:
                continue
            path = Path(frame.filename).resolve()
            if path.is_relative_to(root):
                return f"{path.relative_to(root).as_posix()} line {frame.lineno}"
        return fallback


def _tidy_sms(body: str) -> str:
    # Every character costs money and may push the message into another segment.
    lines = (_SPACES_RE.sub(" ", line).strip() for line in body.strip().splitlines())
    return "\n".join(line for line in lines if line)


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)) + "\n"


def sample_context(lang: str = "en") -> dict[str, object]:
    """Realistic sample data for previews and checks, with a long (40-character) clinic name.

    The long name is deliberate: SMS segment checks should see the worst realistic case.
    Phone numbers are as `display_phone` prints them, which is what messages carry.
    """
    links = {
        outcome: f"https://followup.example.org/r/7QK2M9/{outcome}"
        for outcome in ("better", "same", "worse")
    }
    links["unsubscribe"] = "https://followup.example.org/u/7QK2M9"
    # A deep copy: callers change the sample (a longer name, another day) for their case.
    sample = copy.deepcopy(_SAMPLES.get(lang, _SAMPLES["en"]))
    return {**sample, "step": {"day": 1}, "links": links}


_SAMPLES: dict[str, dict[str, object]] = {
    "en": {
        "patient": {"first_name": "Alexandra"},
        "clinic": {"name": "Bow Valley Skin & Laser Clinic, Downtown", "phone": "(403) 555-0148"},
        "treatment": {"label": "microneedling", "treated_on": "March 7, 2026"},
    },
    "fr": {
        "patient": {"first_name": "Anne-Sophie"},
        "clinic": {"name": "Clinique de dermatologie du Plateau-Mont", "phone": "(514) 555-0148"},
        "treatment": {"label": "microneedling", "treated_on": "7 mars 2026"},
    },
    "es": {
        # A name with "í": Spanish SMS must not depend on the patient's name (it would
        # make them UCS-2); emails greet the patient by name.
        "patient": {"first_name": "María José"},
        "clinic": {"name": "Centro de Estética y Piel del Valle, Sur", "phone": "(403) 555-0148"},
        "treatment": {"label": "microneedling", "treated_on": "7 de marzo de 2026"},
    },
}
