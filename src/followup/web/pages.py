"""Server-rendered pages: one Jinja2 environment, and the values every page needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from followup.phones import display_phone
from followup.web.csrf import csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def local_time(instant: datetime | None, tz: str, fmt: str = "%a %b %-d, %H:%M") -> str:
    if instant is None:
        return ""
    return instant.astimezone(ZoneInfo(tz)).strftime(fmt)


TEMPLATES.env.filters["local"] = local_time
TEMPLATES.env.filters["phone"] = display_phone


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    values: dict[str, Any] = {
        "csrf_token": csrf_token(request),
        "staff": getattr(request.state, "staff", None),
    }
    values.update(context or {})
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
