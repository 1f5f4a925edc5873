"""Finding a patient of one clinic by name, phone number or email.

A phone number may be typed any way people write it ("403 555 0101", "(403) 555-0101",
"+1 403-555-0101"): it is read with phonenumbers in the clinic's country and matched in
E.164, as stored. Part of a number (its last digits, at least four) matches the numbers
that end with them. Names match word by word at the start of the first or last name (or
email), case-insensitively: "may ch" finds Maya Chen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from followup.core.phones import InvalidPhone, normalize_phone
from followup.models import Clinic, Patient

SEARCH_LIMIT = 50
MAX_QUERY_LENGTH = 200
_PHONE_CHARACTERS = re.compile(r"[\d\s()+.\-]+")
MIN_PHONE_DIGITS = 4


class SearchKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"


@dataclass(frozen=True)
class SearchResult:
    query: str
    kind: SearchKind | None  # None: nothing to search for
    patients: list[Patient]  # treatments loaded, by last then first name
    more: bool  # more than `limit` matched


def search_kind(query: str) -> SearchKind | None:
    """What the query is: a phone number, an email address, or words of a name."""
    text = query.strip()
    if not text:
        return None
    if "@" in text:
        return SearchKind.EMAIL
    digits = sum(char.isdigit() for char in text)
    if _PHONE_CHARACTERS.fullmatch(text) and digits >= MIN_PHONE_DIGITS:
        return SearchKind.PHONE
    return SearchKind.NAME


def search_patients(
    session: Session, clinic: Clinic, query: str, limit: int = SEARCH_LIMIT
) -> SearchResult:
    """The clinic's patients matching `query` (one query, plus one for their treatments)."""
    text = query.strip()[:MAX_QUERY_LENGTH]
    kind = search_kind(text)
    if kind is None:
        return SearchResult(text, None, [], more=False)
    condition = _condition(kind, text, clinic.country)
    rows = session.scalars(
        select(Patient)
        .where(Patient.clinic_id == clinic.id, condition)
        .order_by(Patient.last_name, Patient.first_name, Patient.id)
        .limit(limit + 1)
        .options(selectinload(Patient.treatments))
    ).all()
    return SearchResult(text, kind, list(rows[:limit]), more=len(rows) > limit)


def _condition(kind: SearchKind, text: str, country: str) -> ColumnElement[bool]:
    if kind is SearchKind.PHONE:
        try:
            return Patient.phone == normalize_phone(text, country, require_mobile=False)
        except InvalidPhone:
            digits = "".join(char for char in text if char.isdigit())
            return Patient.phone.endswith(digits, autoescape=True)
    if kind is SearchKind.EMAIL:
        return Patient.email.istartswith(text, autoescape=True)
    words = text.split()
    return and_(
        *(
            or_(
                Patient.first_name.istartswith(word, autoescape=True),
                Patient.last_name.istartswith(word, autoescape=True),
                Patient.email.istartswith(word, autoescape=True),
            )
            for word in words
        )
    )
