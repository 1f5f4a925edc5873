"""The message templates as the signed-in clinic's patients get them: rendered with the
clinic's own name, short SMS name and phone (a sample patient otherwise), with each SMS's
encoding and segment count, and filtered by treatment, channel and language (plain GET
parameters, so the filter works without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from fastapi import Query, Request
from fastapi.responses import Response

from followup.core.phones import display_phone
from followup.delivery.context import cached_plan, format_day
from followup.messages.plans import PlanError
from followup.messages.rendering import (
    MessageRenderer,
    TemplateRef,
    TemplateRenderError,
    sample_context,
)
from followup.messages.segments import SmsAnalysis
from followup.models import Clinic
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.labels import plan_titles
from followup.web.pages import render

router = staff_pages()
ALL = "all"
CHANNELS = ("sms", "email")
SAMPLE_DAY = date(2026, 3, 7)  # the sample patient's treatment day


@dataclass(frozen=True)
class TemplatePreview:
    plan: str
    step: str
    channel: str
    lang: str
    template: str
    subject: str | None = None
    body: str = ""
    sms: SmsAnalysis | None = None
    error: str | None = None


@dataclass(frozen=True)
class PreviewFilter:
    """Which templates to show; ALL (or an empty value for channel and language) shows
    every one. Values that name nothing simply match nothing."""

    treatment: str = ALL
    channel: str = ALL
    lang: str = ALL

    def keeps(self, ref: TemplateRef) -> bool:
        return (
            self.treatment in (ALL, ref.plan)
            and self.channel in (ALL, ref.channel)
            and self.lang in (ALL, ref.lang)
        )


@lru_cache(maxsize=4)
def _renderer(templates_dir: Path) -> MessageRenderer:
    # Compiled templates are cached inside the renderer; keep one per directory.
    return MessageRenderer(templates_dir)


def preview_templates(
    templates_dir: Path, clinic: Clinic, chosen: PreviewFilter
) -> list[TemplatePreview]:
    """Render the chosen templates for `clinic`; a broken one shows its error instead."""
    renderer = _renderer(templates_dir)
    previews = []
    for ref in sorted(renderer.template_names()):
        if not chosen.keeps(ref):
            continue
        try:
            plan = cached_plan(templates_dir, ref.plan)
            day = next(step.day for step in plan.steps if step.name == ref.step)
            previews.append(_preview(renderer, ref, clinic, plan.title, day))
        except (TemplateRenderError, PlanError, StopIteration) as exc:
            where = f"{ref.plan}/{ref.step}"
            previews.append(
                TemplatePreview(
                    ref.plan, ref.step, ref.channel, ref.lang, where, error=str(exc) or where
                )
            )
    return previews


def clinic_context(
    clinic: Clinic, lang: str, channel: str, plan_title: str, day: int
) -> dict[str, object]:
    """The sample context, with the clinic's own details: SMS bodies use its short SMS
    name, as the worker does (delivery.context.render_context)."""
    name = (clinic.sms_name or clinic.name) if channel == "sms" else clinic.name
    return {
        **sample_context(lang),
        "clinic": {"name": name, "phone": display_phone(clinic.contact_phone)},
        "treatment": {"label": plan_title.lower(), "treated_on": format_day(SAMPLE_DAY, lang)},
        "step": {"day": day},
    }


def _preview(
    renderer: MessageRenderer, ref: TemplateRef, clinic: Clinic, title: str, day: int
) -> TemplatePreview:
    context = clinic_context(clinic, ref.lang, ref.channel, title, day)
    if ref.channel == "sms":
        sms = renderer.render_sms(ref.plan, ref.step, ref.lang, context)
        return TemplatePreview(
            ref.plan, ref.step, "sms", ref.lang, sms.template, body=sms.body, sms=sms.analysis
        )
    email = renderer.render_email(ref.plan, ref.step, ref.lang, context)
    return TemplatePreview(
        ref.plan,
        ref.step,
        "email",
        ref.lang,
        email.template,
        subject=email.subject,
        body=email.text,
    )


@router.get("/templates")
def templates_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    treatment: str = Query("", max_length=64),
    channel: str = Query(ALL, max_length=16),
    lang: str = Query(ALL, max_length=16),
) -> Response:
    """One treatment at a time by default (the first plan): all of them is a long page."""
    clinic = staff_clinic(session, staff)
    titles = plan_titles(runtime.templates_dir)
    refs = _renderer(runtime.templates_dir).template_names()
    chosen = PreviewFilter(
        treatment=treatment or next(iter(titles), ALL),
        channel=channel or ALL,
        lang=lang or ALL,
    )
    return render(
        request,
        "templates.html",
        {
            "clinic": clinic,
            "previews": preview_templates(runtime.templates_dir, clinic, chosen),
            "chosen": chosen,
            "titles": titles,
            "channels": CHANNELS,
            "languages": sorted({ref.lang for ref in refs}),
            "total": len(refs),
        },
    )
