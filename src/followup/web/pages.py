"""Server-rendered pages: one Jinja2 environment, and the values every page needs."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from followup.core.phones import display_phone
from followup.web.csrf import csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def local_time(instant: datetime | None, tz: str, fmt: str = "%a %b %-d, %H:%M") -> str:
    if instant is None:
        return ""
    return instant.astimezone(ZoneInfo(tz)).strftime(fmt)


def duration(delta: timedelta) -> str:
    """A short human age: '45 s', '12 min', '3 h 05', '2 d 4 h'."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def label(value: object) -> str:
    """An enum or code as words: needs_review -> needs review."""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


TEMPLATES.env.filters["local"] = local_time
# Formatting a number costs a phonenumbers parse; a page lists the same numbers again and again.
TEMPLATES.env.filters["phone"] = lru_cache(maxsize=8192)(display_phone)
TEMPLATES.env.filters["duration"] = duration
TEMPLATES.env.filters["label"] = label


def page_count(total: int, page_size: int) -> int:
    """How many pages a list of `total` rows fills; an empty list is still one page."""
    return max(1, -(-total // page_size))


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A one-line message shown on the next page (after a POST-redirect-GET)."""
    request.session["flash"] = {"text": text, "kind": kind}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


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
