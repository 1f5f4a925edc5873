"""README: webhooks are checked against `X-Twilio-Signature`; the check may be turned off only
with the console transport; with a real transport and no auth token nothing can be verified,
so every webhook is refused rather than accepted unsigned."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.config import ConfigError, load_settings
from followup.core.runtime import Runtime
from followup.models import InboundMessage
from followup.web.app import create_app
from tests.replies.support import (
    ACCOUNT_SID,
    PUBLIC_URL,
    SMS_PATH,
    World,
    make_replies,
    make_runtime,
    make_world,
    sign,
    twilio_params,
)

STATUS_PATH = "/webhooks/twilio/status"


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock)


def test_the_check_cannot_be_turned_off_with_the_twilio_transport(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"(?i)webhook_signature_check"):
        load_settings(
            data_dir=tmp_path,
            sms_transport="twilio",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token="token",
            webhook_signature_check=False,
        )


def test_with_the_console_transport_the_check_may_be_turned_off(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
) -> None:
    replies = make_replies(engine, session_factory, clock, tmp_path, webhook_signature_check=False)
    assert replies.post(twilio_params("better"), signature="").status_code == 200
    assert replies.count(InboundMessage) == 1


def test_the_console_transport_without_a_token_still_checks_signatures(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
) -> None:
    """No FOLLOWUP_TWILIO_AUTH_TOKEN in development: the token generated into the data dir."""
    replies = make_replies(engine, session_factory, clock, tmp_path, twilio_auth_token=None)
    params = twilio_params("worse")
    assert replies.post(params, signature="").status_code == 403
    assert replies.post(params).status_code == 403  # signed with a token it does not use
    dev_token = replies.runtime.settings.webhook_auth_token()
    assert dev_token is not None
    assert replies.post(params, signature=sign(params, token=dev_token)).status_code == 200
    assert replies.count(InboundMessage) == 1


@pytest.mark.parametrize("path", [SMS_PATH, STATUS_PATH])
def test_a_real_transport_without_a_token_refuses_every_webhook(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
    path: str,
) -> None:
    """Settings refuse the Twilio transport without a token at start-up; should settings
    ever get here without one, the webhook still refuses rather than trusting anyone."""
    runtime = make_runtime(
        engine, session_factory, clock, tmp_path, sms_transport="twilio",
        twilio_account_sid=ACCOUNT_SID,
    )  # fmt: skip
    settings = runtime.settings.model_copy(update={"twilio_auth_token": None})
    assert settings.webhook_auth_token() is None
    client = TestClient(
        create_app(
            Runtime(settings=settings, engine=engine, sessions=session_factory, clock=clock)
        ),
        base_url=PUBLIC_URL,
    )
    params = twilio_params("worse")
    assert client.post(path, data=params).status_code == 403
    signed = {"X-Twilio-Signature": sign(params, path=path)}
    assert client.post(path, data=params, headers=signed).status_code == 403
    with session_factory() as session:
        assert session.query(InboundMessage).count() == 0
