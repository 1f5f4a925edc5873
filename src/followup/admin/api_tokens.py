"""API tokens for booking systems: created and revoked by admins, stored only as a hash.

A token is `fu_<prefix>_<secret>`. The prefix is shown in lists so staff can tell tokens
apart; the whole token is shown once, at creation. SHA-256 is the right hash here (not
argon2): the secret is 256 random bits, so there is nothing to brute-force, and every API
request must verify it cheaply.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.models import ApiToken, Clinic

TOKEN_SCHEME = "fu"  # noqa: S105 - a label in front of every token, not a secret
# Writing last_used_at on every request would turn each GET into a write; once a minute
# is enough to tell a live integration from a dead one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that can't be created or revoked as asked."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the plain token exists; never stored


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def create_token(
    session: Session,
    clinic: Clinic,
    *,
    name: str,
    now: datetime,
    actor: str,
    created_by_id: int | None = None,
) -> IssuedToken:
    """Make a token for `clinic`; the caller shows `secret` once and commits."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name (e.g. the booking system it is for)")
    if len(name) > 200:
        raise TokenError("token name is longer than 200 characters")
    prefix = f"{TOKEN_SCHEME}_{secrets.token_hex(4)}"
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        clinic_id=clinic.id,
        name=name,
        prefix=prefix,
        token_hash=hash_token(plain),
        created_by_id=created_by_id,
        created_at=now,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="api_token.create",
        clinic_id=clinic.id,
        staff_user_id=created_by_id,
        target_type="api_token",
        target_id=token.id,
        detail={"name": name, "prefix": prefix},
    )
    return IssuedToken(token=token, secret=plain)


def list_tokens(session: Session, clinic: Clinic) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.clinic_id == clinic.id).order_by(ApiToken.id)
        )
    )


def find_token(session: Session, clinic: Clinic, ref: str) -> ApiToken:
    """A token of `clinic` by id or prefix (what `token list` shows)."""
    query = select(ApiToken).where(ApiToken.clinic_id == clinic.id)
    if ref.isdigit():
        query = query.where(ApiToken.id == int(ref))
    else:
        query = query.where(ApiToken.prefix == ref)
    token = session.scalar(query)
    if token is None:
        raise TokenError(f"no API token {ref!r} in clinic {clinic.slug}")
    return token


def revoke_token(
    session: Session,
    token: ApiToken,
    *,
    now: datetime,
    actor: str,
    staff_user_id: int | None = None,
) -> bool:
    """Revoke `token`; False if it was already revoked (revoking twice is harmless)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    record_audit(
        session,
        at=now,
        actor=actor,
        action="api_token.revoke",
        clinic_id=token.clinic_id,
        staff_user_id=staff_user_id,
        target_type="api_token",
        target_id=token.id,
        detail={"prefix": token.prefix},
    )
    return True


def verify_token(session: Session, plain: str, *, now: datetime) -> ApiToken | None:
    """The live token `plain` names, or None. Records when it was last used."""
    if not plain.startswith(f"{TOKEN_SCHEME}_") or len(plain) > 200:
        return None
    digest = hash_token(plain)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by hash, so timing can't reveal the secret; compare again anyway so a
    # collation or index quirk can never turn a near-match into a match.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token
