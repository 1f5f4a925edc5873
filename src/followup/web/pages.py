"""Server-rendered pages: one Jinja2 environment, and the values every page needs."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from followup.core.phones import display_phone
from followup.web import labels
from followup.web.csrf import csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def local_time(instant: datetime | None, tz: str, fmt: str = "%a %b %-d, %H:%M") -> str:
    if instant is None:
        return ""
    return instant.astimezone(ZoneInfo(tz)).strftime(fmt)


def label(value: object) -> str:
    """An enum or code as words: needs_review -> needs review."""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


TEMPLATES.env.filters["local"] = local_time
# Formatting a number costs a phonenumbers parse; a page lists the same numbers again and again.
TEMPLATES.env.filters["phone"] = lru_cache(maxsize=8192)(display_phone)
TEMPLATES.env.filters["label"] = label
# Words, not codes (web.labels): durations, languages, channels, plan steps, treatments...
TEMPLATES.env.filters["duration"] = labels.duration_words
TEMPLATES.env.filters["language"] = labels.language_name
TEMPLATES.env.filters["channel"] = labels.channel_name
TEMPLATES.env.filters["step"] = labels.step_label
TEMPLATES.env.filters["intent"] = labels.intent_label
TEMPLATES.env.filters["matched"] = labels.matched_labels
TEMPLATES.env.filters["actor"] = labels.actor_label
TEMPLATES.env.filters["priority_noun"] = labels.priority_noun


@pass_context
def _treatment_title(context: Context, kind: str) -> str:
    """A treatment kind as its plan's title, from the templates directory of the app that is
    rendering (each app has its own runtime; there is no global one)."""
    request: Request | None = context.get("request")
    titles = labels.plan_titles(request.app.state.runtime.templates_dir) if request else {}
    return labels.treatment_title(kind, titles)


TEMPLATES.env.filters["treatment"] = _treatment_title


def page_count(total: int, page_size: int) -> int:
    """How many pages a list of `total` rows fills; an empty list is still one page."""
    return max(1, -(-total // page_size))


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A one-line message shown on the next page (after a POST-redirect-GET)."""
    request.session["flash"] = {"text": text, "kind": kind}


def redirect(url: str, focus: str | None = None) -> RedirectResponse:
    """See other (post/redirect/get). `focus` names the element a keyboard user carries on
    from: the control they used, or the one next to it if that control is gone. It becomes
    the URL's fragment; app.js moves focus there and ties the flash message to it, so
    nobody is sent back to the top of the page after every action."""
    return RedirectResponse(f"{url}#{focus}" if focus else url, status_code=303)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    values: dict[str, Any] = {
        "csrf_token": csrf_token(request),
        "staff": getattr(request.state, "staff", None),
        "flash": request.session.pop("flash", None),
        "path": request.url.path,
    }
    values.update(context or {})
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
