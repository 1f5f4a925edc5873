"""The Twilio SMS webhook end to end, on SQLite and PostgreSQL, with requests built and
signed exactly as Twilio builds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import (
    CheckinAnswer,
    Escalation,
    EscalationPriority,
    InboundMessage,
    Language,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from tests.replies.support import (
    CLINIC_NUMBER,
    Replies,
    World,
    make_replies,
    make_world,
    sign,
    twilio_params,
)


@pytest.fixture
def replies(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> Replies:
    return make_replies(engine, session_factory, clock, tmp_path)


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock)


def _alerts(session: Session) -> list[ScheduledMessage]:
    return list(
        session.scalars(
            select(ScheduledMessage)
            .where(ScheduledMessage.kind == MessageKind.STAFF_ALERT)
            .order_by(ScheduledMessage.id)
        )
    )


def _plan_statuses(session: Session, world: World) -> dict[str, MessageStatus]:
    rows = session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.treatment_id == world.treatment_id)
    )
    return {row.step or "": row.status for row in rows}


def test_forged_signature_is_refused_and_nothing_stored(replies: Replies, world: World) -> None:
    params = twilio_params("WORSE")
    forged = sign(params, token="not-the-auth-token")
    response = replies.post(params, signature=forged)
    assert response.status_code == 403
    assert replies.post(params, signature="").status_code == 403
    tampered = dict(params, Body="BETTER")
    assert replies.post(tampered, signature=sign(params)).status_code == 403
    assert replies.count(InboundMessage) == 0
    assert replies.count(Escalation) == 0


def test_signature_is_checked_against_the_public_url(replies: Replies, world: World) -> None:
    params = twilio_params("BETTER")
    # Signed for the address the app happens to see, not the one Twilio was given.
    validator_url_sig = sign(params, path="/webhooks/twilio/sms/")
    assert replies.post(params, signature=validator_url_sig).status_code == 403
    assert replies.post(params).status_code == 200


def test_the_webhook_waits_for_none_of_the_worker_threads_pages_use(
    replies: Replies, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages run their database work on anyio's shared worker threads, and a burst of slow
    page loads can take them all; a patient's reply must not queue behind those. Each hop
    also cost the webhook about a third of its signature check's time."""
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def recording_run_sync(func: Callable[..., object], *args: object, **kw: Any) -> object:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kw)

    monkeypatch.setattr(anyio.to_thread, "run_sync", recording_run_sync)
    assert replies.text("better").status_code == 200
    assert replies.text("worse").status_code == 200
    assert replies.post(twilio_params("STOP"), signature="forged").status_code == 403
    assert hops == []
    assert replies.client.get("/login").status_code == 200  # a page does use them
    assert hops


def test_same_message_sid_twice_has_one_effect(replies: Replies, world: World) -> None:
    params = twilio_params("worse")
    first = replies.post(params)
    second = replies.post(params)
    assert first.status_code == second.status_code == 200
    assert "<Message>" in first.text
    assert "<Message>" not in second.text  # no second auto-reply either
    assert replies.count(InboundMessage) == 1
    assert replies.count(Escalation) == 1
    with replies.sessions() as session:
        assert len(_alerts(session)) == 2


def test_stop_cancels_pending_messages_and_confirms(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    response = replies.text("Stop")
    assert response.status_code == 200
    assert "unsubscribed" in response.text
    assert response.headers["content-type"].startswith("application/xml")
    clock.advance(timedelta(days=1, hours=14))  # day 1 is now due
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is not None
        assert patient.opt_out_source == "sms"
        statuses = _plan_statuses(session, world)
        assert set(statuses.values()) == {MessageStatus.CANCELLED}
        due = session.scalars(
            select(ScheduledMessage).where(
                ScheduledMessage.status.in_([MessageStatus.SCHEDULED, MessageStatus.RETRY]),
                ScheduledMessage.next_attempt_at <= clock.now(),
            )
        ).all()
        assert due == []


def test_worse_opens_one_escalation_and_alerts_each_on_call_contact(
    replies: Replies, world: World
) -> None:
    response = replies.text("Getting worse")
    assert "within 2 hours" in response.text
    assert "911" in response.text
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.NORMAL
        assert escalation.patient_id == world.patient_id
        assert escalation.treatment_id == world.treatment_id
        alerts = _alerts(session)
        # The nurse by SMS and email; the urgent-only doctor and the inactive contact: no.
        assert sorted((a.channel.value, a.recipient) for a in alerts) == [
            ("email", "nurse@clinic.example"),
            ("sms", "+14035550111"),
        ]
        assert all(a.escalation_id == escalation.id for a in alerts)
        assert all(a.status is MessageStatus.SCHEDULED for a in alerts)
        assert all("Maya" not in (a.body or "") for a in alerts)  # no name over SMS/email
        assert escalation.notify_count == 1
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is CheckinAnswer.WORSE


def test_red_flag_opens_urgent_escalation_and_reply_leads_with_emergency_guidance(
    replies: Replies, world: World
) -> None:
    response = replies.text("my face is swelling and I have a fever")
    assert "<Message>If you have trouble breathing" in response.text
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.URGENT
        assert "fever" in escalation.reason
        recipients = {a.recipient for a in _alerts(session)}
        assert recipients == {"+14035550111", "nurse@clinic.example", "+14035550112"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("WORSE, lots of new pimples and it's swollen", "red flag: swelling"),
        ("my lips are swollen and I have a fever", "red flag: swelling of the lips, fever"),
        ("WORSE very swollen and painful", "red flag: swelling, severe pain"),
    ],
)
def test_staff_read_which_red_flag_in_words(
    replies: Replies, world: World, body: str, reason: str
) -> None:
    replies.text(body)
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.URGENT
        assert escalation.reason == reason


def test_photo_reply_puts_media_on_the_escalation(replies: Replies, world: World) -> None:
    media = [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "image/png"),
    ]
    replies.text("worse, see photo", media=media)
    replies.text("", media=media[:1])  # a photo with no words lands in the inbox
    with replies.sessions() as session:
        escalations = session.scalars(select(Escalation).order_by(Escalation.id)).all()
        assert [e.priority for e in escalations] == [
            EscalationPriority.NORMAL,
            EscalationPriority.INBOX,
        ]
        first = session.get(InboundMessage, escalations[0].inbound_message_id)
        assert first is not None
        assert first.media == [{"url": url, "content_type": kind} for url, kind in media]
        second = session.get(InboundMessage, escalations[1].inbound_message_id)
        assert second is not None
        assert len(second.media) == 1
        assert "2 photo" in (_alerts(session)[0].body or "")


def test_advanced_opt_out_is_recorded_without_a_second_answer(
    replies: Replies, world: World
) -> None:
    response = replies.text("STOP", opt_out_type="STOP")
    assert response.status_code == 200
    assert "<Message>" not in response.text
    with replies.sessions() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.opt_out_type == "STOP"
        assert inbound.reply_body is None
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is not None
        assert patient.opt_out_source == "sms_carrier"
        assert set(_plan_statuses(session, world).values()) == {MessageStatus.CANCELLED}
    again = replies.text("START", opt_out_type="START")
    assert "<Message>" not in again.text
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is None


@pytest.mark.parametrize(
    ("body", "answered"),
    [
        ("STOP", "unsubscribed"),
        ("help", "Reply STOP"),
        ("Arrêt", "désabonné"),
        ("BAJA", "se dio de baja"),
        ("Ayuda", "Responda STOP"),
        ("I have a fever", None),
        ("worse", None),
        ("Who is this?", None),
    ],
)
def test_unknown_sender_gets_only_stop_and_help_answers(
    replies: Replies, world: World, body: str, answered: str | None
) -> None:
    response = replies.text(body, sender="+14035550177")
    assert response.status_code == 200
    if answered is None:
        assert "<Message>" not in response.text
    else:
        assert answered in response.text
    assert replies.count(InboundMessage) == 1
    assert replies.count(Escalation) == 0
    with replies.sessions() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.patient_id is None
        assert inbound.clinic_id == world.clinic_id


def test_message_to_a_number_no_clinic_owns_gets_a_generic_help(
    replies: Replies, world: World
) -> None:
    response = replies.text("HELP", to="+14035550188")
    assert "Reply STOP to opt out" in response.text
    assert "Bow River" not in response.text


def test_help_names_the_clinic_its_phone_and_how_to_stop(replies: Replies, world: World) -> None:
    response = replies.text(" Help! ")
    assert "Bow River Skin Clinic" in response.text
    assert "(403) 555-0134" in response.text
    assert "Reply STOP to opt out" in response.text
    assert replies.count(Escalation) == 0


def test_opt_in_reschedules_remaining_steps_without_repeating_sent_ones(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    with replies.sessions() as session, session.begin():
        day1 = session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.step == "day1")
        ).one()
        day1.status = MessageStatus.SENT
    clock.advance(timedelta(days=1, hours=20))  # Mar 9, after day 1
    replies.text("STOP")
    clock.advance(timedelta(days=2))  # Mar 11 10:00 local: day 3 was missed while opted out
    response = replies.text("START")
    assert "subscribed again" in response.text
    with replies.sessions() as session:
        rows = {
            row.step: row
            for row in session.scalars(
                select(ScheduledMessage).where(ScheduledMessage.treatment_id == world.treatment_id)
            )
        }
        assert rows["day1"].status is MessageStatus.SENT
        assert rows["day3"].status is MessageStatus.SCHEDULED
        assert rows["day3"].send_at == clock.now()  # still useful: goes now
        assert rows["day7"].status is MessageStatus.SCHEDULED
        assert rows["day7"].send_at > clock.now() + timedelta(days=2)
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is None
        assert patient.consent_method == "sms_start"


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("Better", CheckinAnswer.BETTER),
        ("same", CheckinAnswer.SAME),
        ("bettr", CheckinAnswer.BETTER),
    ],
)
def test_better_and_same_are_recorded_on_the_treatment(
    replies: Replies, world: World, clock: FixedClock, body: str, answer: CheckinAnswer
) -> None:
    response = replies.text(body)
    assert "thank you for letting us know" in response.text
    assert replies.count(Escalation) == 0
    with replies.sessions() as session:
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is answer
        assert treatment.checkin_at == clock.now()


def test_a_retried_better_does_not_overwrite_a_later_worse(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    better = twilio_params("better")
    replies.post(better)
    clock.advance(timedelta(minutes=5))
    replies.text("worse")
    clock.advance(timedelta(minutes=5))
    replies.post(better)  # Twilio delivers the first reply again
    with replies.sessions() as session:
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is CheckinAnswer.WORSE


def test_other_reply_goes_to_the_inbox_and_is_acknowledged_with_hours_and_when_to_call(
    replies: Replies, world: World
) -> None:
    response = replies.text("Can I wear makeup to a wedding on Saturday?")
    assert "We read messages Monday to Friday, 9 am to 5 pm." in response.text
    assert "call (403) 555-0134" in response.text
    assert "call 911 now" in response.text
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.INBOX
        assert _alerts(session) == []  # the inbox pages nobody


def test_a_conversation_is_acknowledged_once_per_window(
    replies: Replies, world: World, clock: FixedClock
) -> None:
    assert "<Message>" in replies.text("Quick question about my serum").text
    clock.advance(timedelta(minutes=10))
    assert "<Message>" not in replies.text("It's the vitamin C one").text
    clock.advance(timedelta(hours=3, minutes=49))
    assert "<Message>" not in replies.text("Also, can I exercise?").text
    clock.advance(timedelta(minutes=2))  # 4 h 1 min after the first acknowledgement
    assert "<Message>" in replies.text("And can I use retinol?").text
    assert replies.count(Escalation) == 4  # each still waits in the inbox


def test_a_reply_after_stop_is_not_acknowledged(replies: Replies, world: World) -> None:
    replies.text("STOP")
    response = replies.text("Sorry, what was that cream called?")
    assert "<Message>" not in response.text
    assert replies.count(Escalation) == 1


def test_stop_with_a_red_flag_still_reaches_staff(replies: Replies, world: World) -> None:
    response = replies.text("stop texting me, I have pus and a fever")
    assert "unsubscribed" in response.text
    assert "(403) 555-0134" in response.text
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.URGENT
        assert len(_alerts(session)) == 3  # staff alerts ignore the patient's opt-out


def test_french_patient_gets_french_replies(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        make_world(session, clock, language=Language.FR)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    assert "notre équipe vous contactera" in replies.text("pire").text.lower()
    assert "désabonné" in replies.text("ARRET").text


def test_spanish_patient_gets_spanish_replies(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    # The carrier keywords and WORSE work whatever the language; the answer is Spanish.
    with session_factory() as session, session.begin():
        make_world(session, clock, language=Language.ES)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    assert "Nos pondremos en contacto con usted" in replies.text("WORSE").text
    assert "se dio de baja" in replies.text("STOP").text


def test_shared_phone_stop_opts_out_everyone_at_that_number(
    replies: Replies, world: World, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    from tests.factories import make_enrollment

    with session_factory() as session, session.begin():
        clinic = session.get(Patient, world.patient_id).clinic_id  # type: ignore[union-attr]
        from followup.models import Clinic

        make_enrollment(session, session.get(Clinic, clinic), now=clock.now(), first_name="Leo")  # type: ignore[arg-type]
    replies.text("STOP")
    with replies.sessions() as session:
        patients = session.scalars(select(Patient)).all()
        assert len(patients) == 2
        assert all(p.opted_out_at is not None for p in patients)


@pytest.mark.parametrize(
    "fields",
    [
        {"MessageSid": ""},
        {"MessageSid": "SM" + "x" * 100},
        {"From": ""},
        {"To": "+1" * 200},
    ],
)
def test_malformed_fields_get_400_not_500(
    replies: Replies, world: World, fields: dict[str, str]
) -> None:
    params = twilio_params("worse")
    params.update(fields)
    if fields.get("MessageSid") == "":
        params["SmsMessageSid"] = ""
    assert replies.post(params).status_code == 400
    assert replies.count(InboundMessage) == 0


def test_messaging_service_sid_finds_the_clinic_when_to_is_a_pool_number(
    replies: Replies, world: World, session_factory: sessionmaker[Session]
) -> None:
    from followup.models import Clinic

    with session_factory() as session, session.begin():
        clinic = session.get(Clinic, world.clinic_id)
        assert clinic is not None
        clinic.messaging_service_sid = "MG" + "b" * 32
    params = twilio_params("better", to="+14035550166")
    params["MessagingServiceSid"] = "MG" + "b" * 32
    response = replies.post(params)
    assert "thank you" in response.text
    assert CLINIC_NUMBER not in response.text


def test_an_opt_out_type_that_grows_when_upper_cased_is_stored(
    replies: Replies, world: World
) -> None:
    # Found by the property tests: "ß".upper() is "SS", so cut after upper-casing.
    response = replies.text("hello", opt_out_type="0" * 19 + "ß")
    assert response.status_code == 200
    with replies.sessions() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.opt_out_type == "0" * 19 + "S"


def test_start_without_a_stop_keeps_the_consent_given_in_clinic(
    replies: Replies, world: World
) -> None:
    response = replies.text("START")
    assert "subscribed again" in response.text
    with replies.sessions() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.consent_method == "in_clinic"
        statuses = set(_plan_statuses(session, world).values())
        assert statuses == {MessageStatus.SCHEDULED}


def test_after_stop_a_worse_reply_reaches_staff_but_is_not_answered(
    replies: Replies, world: World
) -> None:
    replies.text("STOP")
    response = replies.text("it is getting worse")
    assert "<Message>" not in response.text
    assert "Reply STOP" in replies.text("HELP").text  # keyword answers still go
    with replies.sessions() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.NORMAL


def test_advanced_opt_out_help_is_not_answered_twice(replies: Replies, world: World) -> None:
    response = replies.text("INFO", opt_out_type="HELP")
    assert "<Message>" not in response.text
    with replies.sessions() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.intent == "help"
        assert inbound.matched == ["carrier:HELP"]
