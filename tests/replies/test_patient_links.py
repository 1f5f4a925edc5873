"""One-click links in patient emails: GET confirms, POST records through the reply flow;
stale or tampered links get a clear page, never a 500."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.links import LinkSigner
from followup.models import (
    ChannelPreference,
    CheckinAnswer,
    Escalation,
    EscalationPriority,
    InboundMessage,
    Language,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from tests.replies.support import PUBLIC_URL, Replies, World, make_replies, make_world


@pytest.fixture
def replies(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> Replies:
    return make_replies(engine, session_factory, clock, tmp_path)


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock, email="maya@example.com", channel=ChannelPreference.BOTH)


def _signer(replies: Replies) -> LinkSigner:
    return LinkSigner(replies.runtime.settings.signing_key(), PUBLIC_URL)


def _checkin_path(replies: Replies, world: World, answer: str) -> str:
    url = _signer(replies).checkin_url(
        world.patient_id, world.treatment_id, answer, replies.clock.now()
    )
    return url.removeprefix(PUBLIC_URL)


def _unsubscribe_path(replies: Replies, world: World) -> str:
    url = _signer(replies).unsubscribe_url(world.patient_id, replies.clock.now())
    return url.removeprefix(PUBLIC_URL)


def test_get_shows_a_confirm_page_and_records_nothing(replies: Replies, world: World) -> None:
    path = _checkin_path(replies, world, "worse")
    response = replies.client.get(path)
    assert response.status_code == 200
    assert "You chose: <strong>Worse</strong>" in response.text
    assert f'action="{path}"' in response.text
    assert replies.count(InboundMessage) == 0
    assert "set-cookie" not in response.headers  # a patient page, not a staff session
    assert "Sign out" not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_post_worse_opens_an_escalation_like_an_sms_reply(replies: Replies, world: World) -> None:
    response = replies.client.post(_checkin_path(replies, world, "worse"))
    assert response.status_code == 200
    assert "your answer was sent" in response.text
    assert "within 2 hours" in response.text
    assert "911" in response.text
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.NORMAL
        inbound = session.get(InboundMessage, escalation.inbound_message_id)
        assert inbound is not None
        assert inbound.channel.value == "email"
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is CheckinAnswer.WORSE


def test_the_same_link_posted_twice_records_once(replies: Replies, world: World) -> None:
    path = _checkin_path(replies, world, "worse")
    replies.client.post(path)
    again = replies.client.post(path)
    assert again.status_code == 200
    assert "We already have your answer" in again.text
    assert replies.count(Escalation) == 1
    assert replies.count(InboundMessage) == 1


def test_better_is_recorded_on_the_treatment(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    response = replies.client.post(_checkin_path(replies, world, "better"))
    assert "thank you for letting us know" in response.text
    assert replies.count(Escalation) == 0
    with replies.sessions() as session:
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is CheckinAnswer.BETTER
        assert treatment.checkin_at == clock.now()


def test_link_works_for_fourteen_days_then_expires(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    path = _checkin_path(replies, world, "same")
    clock.advance(timedelta(days=13, hours=23))
    assert replies.client.get(path).status_code == 200
    clock.advance(timedelta(hours=1, minutes=1))
    for response in (replies.client.get(path), replies.client.post(path)):
        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert "(403) 555-0134" in response.text  # authentic but stale: we know the clinic
    assert replies.count(InboundMessage) == 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: token.split(".")[0],
        lambda _token: "not-a-token",
        lambda _token: "%00%ff..",
        lambda _token: "é" * 300,
    ],
)
def test_tampered_link_gets_a_clear_page(replies: Replies, world: World, mangle: object) -> None:
    token = _checkin_path(replies, world, "worse").removeprefix("/r/")
    bad = mangle(token)  # type: ignore[operator]
    for response in (replies.client.get(f"/r/{bad}"), replies.client.post(f"/u/{bad}")):
        assert response.status_code == 400
        assert "This link doesn" in response.text
        assert "call your clinic" in response.text
    assert replies.count(InboundMessage) == 0


def test_an_unsubscribe_token_is_not_a_checkin_answer(replies: Replies, world: World) -> None:
    token = _unsubscribe_path(replies, world).removeprefix("/u/")
    response = replies.client.post(f"/r/{token}")
    assert response.status_code == 400
    assert replies.count(InboundMessage) == 0


def test_unsubscribe_get_confirms_and_post_opts_out(replies: Replies, world: World) -> None:
    path = _unsubscribe_path(replies, world)
    page = replies.client.get(path)
    assert page.status_code == 200
    assert "Stop follow-up messages?" in page.text
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is None
    done = replies.client.post(path)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is not None
        assert patient.opt_out_source == "email_link"
        statuses = {m.status for m in session.scalars(select(ScheduledMessage))}
        assert statuses == {MessageStatus.CANCELLED}


def test_rfc8058_one_click_unsubscribe(replies: Replies, world: World) -> None:
    # What a mail client sends for List-Unsubscribe-Post: no cookie, no page, one form field.
    response = replies.client.post(
        _unsubscribe_path(replies, world),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    again = replies.client.post(_unsubscribe_path(replies, world))
    assert again.status_code == 200
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is not None


def test_french_patient_gets_french_pages(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        world = make_world(session, clock, email="a@example.com", language=Language.FR)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    page = replies.client.get(_checkin_path(replies, world, "worse"))
    assert "Vous avez choisi : <strong>Pire</strong>" in page.text
    assert '<html lang="fr">' in page.text


def test_spanish_patient_gets_spanish_pages(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        world = make_world(session, clock, email="a@example.com", language=Language.ES)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    page = replies.client.get(_checkin_path(replies, world, "worse"))
    assert "Usted eligió: <strong>Peor</strong>" in page.text
    assert '<html lang="es">' in page.text
    done = replies.client.post(_checkin_path(replies, world, "worse"))
    assert "Gracias, su respuesta fue enviada." in done.text
    assert "Nos pondremos en contacto con usted" in done.text  # the worse answer, in Spanish
    unsubscribe = replies.client.get(_unsubscribe_path(replies, world))
    assert "¿Dejar de recibir los mensajes de seguimiento?" in unsubscribe.text
