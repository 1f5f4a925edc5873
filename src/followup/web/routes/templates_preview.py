"""Every message template rendered with sample data, with SMS encoding and segment count."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from followup.plans import PlanError, load_plan
from followup.rendering import MessageRenderer, TemplateRenderError, sample_context
from followup.segments import SmsAnalysis
from followup.web.deps import CurrentStaff, RuntimeDep
from followup.web.pages import render

router = APIRouter()


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
    previews = []
    for ref in sorted(renderer.template_names()):
        context = sample_context(ref.lang)
        try:
            day = next(
                s.day for s in load_plan(templates_dir, ref.plan).steps if s.name == ref.step
            )
            context["step"] = {"day": day}
            if ref.channel == "sms":
                sms = renderer.render_sms(ref.plan, ref.step, ref.lang, context)
                previews.append(
                    TemplatePreview(
                        ref.plan,
                        ref.step,
                        "sms",
                        ref.lang,
                        sms.template,
                        body=sms.body,
                        sms=sms.analysis,
                    )
                )
            else:
                email = renderer.render_email(ref.plan, ref.step, ref.lang, context)
                previews.append(
                    TemplatePreview(
                        ref.plan,
                        ref.step,
                        "email",
                        ref.lang,
                        email.template,
                        subject=email.subject,
                        body=email.text,
                    )
                )
        except (TemplateRenderError, PlanError, StopIteration) as exc:
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


@router.get("/templates")
def templates_page(request: Request, _staff: CurrentStaff, runtime: RuntimeDep) -> Response:
    return render(request, "templates.html", {"previews": preview_all(runtime.templates_dir)})
