"""The database is unreachable when a patient replies: Twilio would not send the reply
again, so it is kept on disk, answered with emergency guidance if it needs it, and handled
as if it had just arrived once the database is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from followup.core.clock import FixedClock
from followup.core.db import make_engine, make_session_factory
from followup.delivery.heartbeats import WorkerIdentity, beat
from followup.models import (
    CheckinAnswer,
    Escalation,
    EscalationPriority,
    InboundMessage,
    MessageKind,
    ScheduledMessage,
    Treatment,
)
from followup.replies import runtime as reply_runtime
from followup.replies.runtime import replay_spool
from followup.replies.sms import InboundSms
from followup.replies.spool import SPOOL_DIRECTORY, InboundSpool
from tests.replies.support import (
    PATIENT_PHONE,
    Replies,
    World,
    make_replies,
    make_world,
    twilio_params,
)

RED_FLAG = "my face is swelling and I have a fever"


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock)


@pytest.fixture
def down_engine() -> Iterator[Engine]:
    """A PostgreSQL no one listens for: every connection is refused."""
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/followup")
    yield engine
    engine.dispose()


@pytest.fixture
def down(down_engine: Engine, clock: FixedClock, tmp_path: Path) -> Replies:
    """The app while its database is down (same data_dir as `up`)."""
    return make_replies(down_engine, make_session_factory(down_engine), clock, tmp_path)


@pytest.fixture
def up(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> Replies:
    return make_replies(engine, session_factory, clock, tmp_path)


def _spooled(tmp_path: Path) -> list[Path]:
    return InboundSpool(tmp_path / "var" / SPOOL_DIRECTORY).pending()


def _late_replies(session: Session) -> list[ScheduledMessage]:
    query = select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.AUTO_REPLY)
    return list(session.scalars(query.order_by(ScheduledMessage.id)))


def test_replies_are_kept_while_the_database_is_down_and_handled_once_it_is_back(
    down: Replies, up: Replies, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    received_at = clock.now()
    red_flag = twilio_params(RED_FLAG)
    answered = down.post(red_flag)
    assert answered.status_code == 200
    assert "call 911" in answered.text  # guidance at once, whoever wrote
    assert down.post(red_flag).status_code == 200  # Twilio's retry: still one file
    thanks = down.text("better")
    assert thanks.status_code == 200
    assert "<Message>" not in thanks.text  # no medical reason to answer now
    assert len(_spooled(tmp_path)) == 2
    assert up.count(InboundMessage) == 0

    clock.advance(timedelta(minutes=20))
    result = replay_spool(up.runtime)
    assert (result.handled, result.failed, result.unreadable) == (2, 0, 0)
    assert _spooled(tmp_path) == []
    with up.sessions() as session:
        stored = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [m.received_at.replace(tzinfo=None) for m in stored] == [
            received_at.replace(tzinfo=None)
        ] * 2
        # Each reply records what its TwiML really said: the guidance, or nothing. What it
        # would have been answered goes out later, below, and is shown once.
        assert stored[0].reply_body is not None
        assert "call 911" in stored[0].reply_body
        assert stored[0].reply_body in answered.text
        assert stored[1].reply_body is None
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.priority is EscalationPriority.URGENT
        alerts = session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.STAFF_ALERT)
        ).all()
        assert len(alerts) == 3  # the nurse by SMS and email, the urgent-only doctor by SMS
        treatment = session.get(Treatment, world.treatment_id)
        assert treatment is not None
        assert treatment.checkin_answer is CheckinAnswer.BETTER
        late = _late_replies(session)
        assert [m.recipient for m in late] == [PATIENT_PHONE, PATIENT_PHONE]
        assert late[0].body.startswith("If you have trouble breathing")
        assert all(m.patient_id == world.patient_id for m in late)
    assert replay_spool(up.runtime).handled == 0


def test_a_reply_twilio_delivers_again_after_the_outage_is_handled_once(
    down: Replies, up: Replies, world: World, tmp_path: Path
) -> None:
    params = twilio_params("worse")
    down.post(params)
    assert "<Message>" in up.post(params).text  # handled normally, answered in TwiML
    result = replay_spool(up.runtime)
    assert result.handled == 1  # found already stored, so removed
    assert up.count(InboundMessage) == 1
    assert up.count(Escalation) == 1
    with up.sessions() as session:
        assert _late_replies(session) == []  # it was answered already
    assert _spooled(tmp_path) == []


def test_replay_while_the_database_is_still_down_keeps_every_reply(
    down: Replies, world: World, tmp_path: Path
) -> None:
    down.text("STOP")
    result = replay_spool(down.runtime)
    assert (result.handled, result.failed) == (0, 1)
    assert len(_spooled(tmp_path)) == 1


def test_an_unreadable_spool_file_is_set_aside_and_the_rest_replayed(
    down: Replies, up: Replies, world: World, tmp_path: Path
) -> None:
    down.text("STOP")
    spool = tmp_path / "var" / SPOOL_DIRECTORY
    (spool / "SMtruncated.json").write_text('{"received_at": "2026-03-10T09:00:00+00:00", "s')
    result = replay_spool(up.runtime)
    assert (result.handled, result.unreadable) == (1, 1)
    assert (spool / "SMtruncated.unreadable").exists()  # kept for a person to read
    with up.sessions() as session:
        [confirmation] = _late_replies(session)  # carriers require the STOP confirmation
    assert "STOP" in confirmation.body or "START" in confirmation.body


def test_a_spool_that_cannot_be_written_fails_the_request_instead_of_claiming_it(
    down_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / SPOOL_DIRECTORY).write_text("a file where the directory should be")
    replies = make_replies(down_engine, make_session_factory(down_engine), clock, tmp_path)
    with pytest.raises(FileExistsError):
        replies.text("worse")


def test_a_file_kept_before_answers_were_recorded_still_replays(
    up: Replies, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    spool = InboundSpool(tmp_path / "var" / SPOOL_DIRECTORY)
    path = spool.put(
        InboundSms("SM" + "2" * 32, PATIENT_PHONE, "+14035550199", "better", []), clock.now()
    )
    record = json.loads(path.read_text())
    del record["answered"]
    path.write_text(json.dumps(record))
    assert replay_spool(up.runtime).handled == 1
    with up.sessions() as session:
        stored = session.scalars(select(InboundMessage)).one()
        assert (stored.body, stored.reply_body) == ("better", None)
        assert len(_late_replies(session)) == 1  # the check-in's thanks, sent late


def test_the_spool_file_holds_what_twilio_sent(down: Replies, tmp_path: Path) -> None:
    media = [("https://api.twilio.com/2010-04-01/Media/ME1", "image/jpeg")]
    down.post(twilio_params("photo of the rash", media=media))
    [path] = _spooled(tmp_path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    record = json.loads(path.read_text())
    assert record["sms"]["body"] == "photo of the rash"
    assert record["answered"] is None  # not urgent: the TwiML said nothing
    assert record["sms"]["media"] == [{"url": media[0][0], "content_type": "image/jpeg"}]


def _keep_one_reply(tmp_path: Path, clock: FixedClock) -> None:
    from followup.replies.sms import InboundSms

    InboundSpool(tmp_path / "var" / SPOOL_DIRECTORY).put(
        InboundSms("SM" + "1" * 32, "+14035550101", "+14035550199", "hello", []), clock.now()
    )


def test_replay_spool_command_fails_while_replies_remain(
    cli_env: object, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from followup.cli import app

    _keep_one_reply(tmp_path, clock)
    # The database cannot be opened: the reply stays, and the command says so by its exit.
    unreachable = tmp_path / "no-such-directory" / "followup.db"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", f"sqlite:///{unreachable}")
    result = CliRunner().invoke(app, ["replies", "replay-spool"])
    assert result.exit_code == 1, result.output
    assert "1 kept, 0 handled, 1 still failing" in result.output
    assert len(_spooled(tmp_path)) == 1


def test_replay_spool_command_fails_on_an_unreadable_reply(cli_env: object, tmp_path: Path) -> None:
    from followup.cli import app

    spool = tmp_path / "var" / SPOOL_DIRECTORY
    spool.mkdir(parents=True)
    (spool / ("0" * 64 + ".json")).write_text("{not json")
    result = CliRunner().invoke(app, ["replies", "replay-spool"])
    assert result.exit_code == 1, result.output
    assert "1 unreadable" in result.output
    assert [p.suffix for p in spool.iterdir()] == [".unreadable"]


def test_replay_spool_command_succeeds_once_every_reply_is_handled(
    cli_env: object, tmp_path: Path, clock: FixedClock
) -> None:
    from followup.cli import app

    _keep_one_reply(tmp_path, clock)
    result = CliRunner().invoke(app, ["replies", "replay-spool"])
    assert result.exit_code == 0, result.output
    assert "1 kept, 1 handled, 0 still failing" in result.output
    assert _spooled(tmp_path) == []


class _Stop(Exception):
    """Ends replay_spool_forever after its first pass, instead of its 30 s wait."""


async def _no_second_pass(_seconds: float) -> None:
    raise _Stop


def test_the_app_replays_the_spool_by_itself(
    down: Replies, up: Replies, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    down.text("same")
    monkeypatch.setattr(reply_runtime.asyncio, "sleep", _no_second_pass)
    with pytest.raises(_Stop):
        asyncio.run(reply_runtime.replay_spool_forever(up.runtime))
    assert up.count(InboundMessage) == 1
    down.text("better")
    with pytest.raises(_Stop):  # a failing pass is logged, and the loop goes on
        asyncio.run(reply_runtime.replay_spool_forever(down.runtime))
    assert len(_spooled(tmp_path)) == 1


def test_health_stays_up_and_says_degraded_while_the_database_is_down(
    down: Replies, up: Replies, world: World
) -> None:
    """A load balancer keeps the node, so Twilio's replies still reach the spool."""
    down.text("worse")
    health = down.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "degraded",
        "database": "unreachable",
        "workers": None,
        "spooled_replies": 1,
    }
    assert up.client.get("/healthz").json()["status"] == "degraded"  # a reply still waits
    replay_spool(up.runtime)
    # The replayed reply queued messages; with no worker alive to send them that is degraded
    # too, so one worker beats.
    now = up.runtime.clock.now()
    with up.runtime.sessions.begin() as session:
        beat(session, WorkerIdentity("host:1:w", now, 10.0), now)
    assert up.client.get("/healthz").json() == {
        "status": "ok",
        "database": "ok",
        "workers": 1,
        "spooled_replies": 0,
    }


def test_replies_whose_sids_differ_only_in_unsafe_characters_are_kept_apart(
    down: Replies, up: Replies, world: World, tmp_path: Path
) -> None:
    # A file name cannot hold "/" (and "\\" or ":" on other systems): made file-safe, all
    # of these SIDs would be one file and the red flag overwritten by the "better".
    sids = ["SM/a", "SM_a", "SM\\a", "SM:a"]
    bodies = [RED_FLAG, "better", "same", "worse"]
    for sid, body in zip(sids, bodies, strict=True):
        assert down.post(twilio_params(body, sid=sid)).status_code == 200
    assert len(_spooled(tmp_path)) == len(sids)

    assert replay_spool(up.runtime).handled == len(sids)
    with up.sessions() as session:
        stored = session.scalars(select(InboundMessage)).all()
        assert sorted(m.provider_sid for m in stored) == sorted(sids)
        escalation = session.scalars(
            select(Escalation).where(Escalation.priority == EscalationPriority.URGENT)
        ).one()
        assert escalation.patient_id == world.patient_id


def test_a_kept_better_replayed_late_does_not_overwrite_a_later_worse(
    down: Replies, up: Replies, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    """README: a spooled reply is handled as if it had just arrived when it was received. A
    "better" kept on one web node while another stored a later "worse" stays the older answer."""
    down.post(twilio_params("better"))
    assert len(_spooled(tmp_path)) == 1
    clock.advance(timedelta(minutes=5))
    up.text("worse")
    clock.advance(timedelta(minutes=5))
    assert replay_spool(up.runtime).handled == 1
    with up.sessions() as session:
        treatment = session.get_one(Treatment, world.treatment_id)
        assert treatment.checkin_answer is CheckinAnswer.WORSE
        assert treatment.checkin_at == clock.now() - timedelta(minutes=5)
