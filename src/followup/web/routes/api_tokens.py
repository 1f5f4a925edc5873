"""API tokens for booking systems, for admins: create (the token is shown once, on the
page that answers the POST, never stored) and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from followup.admin.api_tokens import (
    TokenError,
    create_token,
    find_token,
    list_tokens,
    revoke_token,
)
from followup.web.access import admin_actions, admin_pages
from followup.web.deps import CurrentStaff, DbSession, NotFound, RuntimeDep, staff_clinic
from followup.web.pages import flash, redirect, render

router = admin_pages()
actions = admin_actions()
PAGE = "/settings/api-tokens"


def _page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    status_code: int = 200,
    **extra: object,
) -> Response:
    tokens = list_tokens(session, staff_clinic(session, staff))
    context = {"tokens": tokens, "api_docs": "/api/v1/docs", **extra}
    # A page showing a new secret must not be cached anywhere.
    response = render(request, "api_tokens.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(PAGE)
def tokens_page(request: Request, session: DbSession, staff: CurrentStaff) -> Response:
    return _page(request, session, staff)


@actions.post(PAGE)
def create(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        issued = create_token(
            session,
            staff_clinic(session, staff),
            name=name,
            now=runtime.clock.now(),
            actor=staff.email,
            created_by_id=staff.id,
        )
    except TokenError as exc:
        return _page(request, session, staff, 422, error=str(exc))
    return _page(request, session, staff, 201, new_token=issued.secret, new_name=issued.token.name)


@actions.post(PAGE + "/{token_id:int}/revoke")
def revoke(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, token_id: int
) -> Response:
    try:
        token = find_token(session, staff_clinic(session, staff), str(token_id))
    except TokenError:
        raise NotFound from None  # another clinic's token looks like no token at all
    revoke_token(session, token, now=runtime.clock.now(), actor=staff.email, staff_user_id=staff.id)
    flash(request, f"Token {token.prefix} ({token.name}) revoked.")
    return redirect(PAGE, focus="tokens")
