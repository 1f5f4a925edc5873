"""Who may call what. Every dashboard route belongs to a router made here, one kind per role,
so the rule is attached to the router, GET and POST alike, and a handler never checks a role
itself. Actions (POSTs from our pages) also need the CSRF token, checked after the session
so that a signed-out POST answers 401 rather than 403.

Routes outside these routers are public on purpose, each for its reason: signing in, the
health probe, Twilio's webhooks (signature-checked), patients' signed links and the API
(token-authenticated). tests/web/test_route_access.py holds the table of every route.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from followup.web.csrf import require_csrf
from followup.web.deps import current_staff, require_admin, require_staff


def account_pages() -> APIRouter:
    """Any signed-in staff member, even one who must still replace a temporary password."""
    return APIRouter(dependencies=[Depends(current_staff)])


def account_actions() -> APIRouter:
    return APIRouter(dependencies=[Depends(current_staff), Depends(require_csrf)])


def staff_pages() -> APIRouter:
    """Staff of any role."""
    return APIRouter(dependencies=[Depends(require_staff)])


def staff_actions() -> APIRouter:
    return APIRouter(dependencies=[Depends(require_staff), Depends(require_csrf)])


def admin_pages() -> APIRouter:
    """Clinic admins only."""
    return APIRouter(dependencies=[Depends(require_admin)])


def admin_actions() -> APIRouter:
    return APIRouter(dependencies=[Depends(require_admin), Depends(require_csrf)])
