"""Property tests: whatever a correctly signed request carries (any body, any mix of
Twilio's fields, missing or absurd values), the webhook answers 200 with TwiML or 400,
never a 500 or an unhandled exception; the same for any token in a patient link."""

from __future__ import annotations

import string
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from tests.replies.support import (
    CLINIC_NUMBER,
    PATIENT_PHONE,
    Replies,
    World,
    make_replies,
    make_world,
    twilio_params,
)

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYWORDS = [
    *("STOP", "stop!", "Arrêt", "HELP", "start", "yes", "worse", "WORSE", "better", "same"),
    *("bettr", "no fever", "fever", "pus", "😷", "I'll stop by", "not worse"),
]
bodies = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=string.printable, max_size=2000),
    st.lists(st.sampled_from(KEYWORDS), max_size=6).map(" ".join),
    st.builds(lambda a, b: a + b, st.sampled_from(KEYWORDS), st.text(max_size=40)),
)
short_text = st.text(max_size=300)
phones = st.one_of(
    st.sampled_from([PATIENT_PHONE, "+14035550177", CLINIC_NUMBER, "whatsapp:+14035550101"]),
    short_text,
)
sids = st.one_of(
    st.just("SM" + "d" * 32), st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), short_text
)
num_media = st.one_of(st.integers(-5, 50).map(str), short_text)
opt_out_types = st.one_of(st.none(), st.sampled_from(["STOP", "START", "HELP", "stop"]), short_text)
extra_fields = st.dictionaries(st.text(min_size=1, max_size=20), short_text, max_size=5)


@pytest.fixture
def replies(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> Replies:
    return make_replies(engine, session_factory, clock, tmp_path)


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock, email="maya@example.com")


def _assert_answered(status: int, body: str) -> None:
    assert status in (200, 400), body[:500]
    ElementTree.fromstring(body)  # noqa: S314 -- our own TwiML: it must be well-formed


@FUZZ
@given(body=bodies, media=st.lists(st.tuples(short_text, short_text), max_size=3))
def test_any_body_from_the_patient_is_answered(
    replies: Replies, world: World, body: str, media: list[tuple[str, str]]
) -> None:
    response = replies.text(body, media=media)
    assert response.status_code == 200
    _assert_answered(response.status_code, response.text)


@FUZZ
@given(
    body=bodies,
    sender=phones,
    to=phones,
    sid=sids,
    count=num_media,
    opt_out_type=opt_out_types,
    extra=extra_fields,
    dropped=st.sets(st.sampled_from(["MessageSid", "SmsMessageSid", "From", "To", "Body"])),
)
def test_any_field_combination_is_answered(
    replies: Replies,
    world: World,
    body: str,
    sender: str,
    to: str,
    sid: str,
    count: str,
    opt_out_type: str | None,
    extra: dict[str, str],
    dropped: set[str],
) -> None:
    params = twilio_params(body, sender=sender, to=to, sid=sid, opt_out_type=opt_out_type)
    params.update({"NumMedia": count, "MediaUrl0": body[:50], **extra})
    for key in dropped:
        params.pop(key, None)
    response = replies.post(params)
    _assert_answered(response.status_code, response.text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(token=st.text(alphabet=string.ascii_letters + string.digits + "-_.=~é", max_size=200))
def test_any_link_token_gets_a_page(replies: Replies, world: World, token: str) -> None:
    for method, prefix in (("GET", "/r/"), ("POST", "/r/"), ("GET", "/u/"), ("POST", "/u/")):
        response = replies.client.request(method, prefix + token)
        assert response.status_code in (200, 400, 404, 405, 410)
