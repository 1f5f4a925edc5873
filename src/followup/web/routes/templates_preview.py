"""Every message template rendered with sample data, with SMS encoding and segment count."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from followup.messages.plans import PlanError, load_plan
from followup.messages.rendering import (
    MessageRenderer,
    TemplateRef,
    TemplateRenderError,
    sample_context,
)
from followup.messages.segments import SmsAnalysis
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, RuntimeDep
from followup.web.pages import render

router = staff_pages()


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


@lru_cache(maxsize=4)
def _renderer(templates_dir: Path) -> MessageRenderer:
    # Compiled templates are cached inside the renderer; keep one per directory.
    return MessageRenderer(templates_dir)


def preview_all(templates_dir: Path) -> list[TemplatePreview]:
    """Render every template with the sample data; a broken one shows its error instead."""
    renderer = _renderer(templates_dir)
    plans: dict[str, dict[str, int]] = {}
    previews = []
    for ref in sorted(renderer.template_names()):
        try:
            if ref.plan not in plans:
                plan = load_plan(templates_dir, ref.plan)
                plans[ref.plan] = {step.name: step.day for step in plan.steps}
            previews.append(_preview(renderer, ref, plans[ref.plan][ref.step]))
        except (TemplateRenderError, PlanError, KeyError) as exc:
            previews.append(
                TemplatePreview(
                    ref.plan,
                    ref.step,
                    str(ref.channel),
                    ref.lang,
                    f"{ref.plan}/{ref.step}",
                    error=str(exc),
                )
            )
    return previews


def _preview(renderer: MessageRenderer, ref: TemplateRef, day: int) -> TemplatePreview:
    context = sample_context(ref.lang)
    context["step"] = {"day": day}
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
def templates_page(request: Request, _staff: CurrentStaff, runtime: RuntimeDep) -> Response:
    return render(request, "templates.html", {"previews": preview_all(runtime.templates_dir)})
