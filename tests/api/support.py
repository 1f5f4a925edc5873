"""The API on a test database: an app mounted at /api/v1 like production, and a token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.admin.api_tokens import create_token
from followup.api import mount_api
from followup.core.clock import Clock
from followup.core.config import load_settings
from followup.core.runtime import Runtime
from followup.models import Clinic
from tests.factories import TEMPLATES_DIR, make_clinic


@dataclass
class ApiEnv:
    app: FastAPI
    client: TestClient
    clinic: Clinic
    other_clinic: Clinic
    token: str
    other_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_api_env(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    tmp_path: Path,
    **settings: object,
) -> ApiEnv:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "secret_key": "test-secret-key-" + "x" * 32,
        "templates_dir": TEMPLATES_DIR,
    }
    values.update(settings)
    runtime = Runtime(
        settings=load_settings(**values), engine=engine, sessions=sessions, clock=clock
    )
    with sessions() as session, session.begin():
        clinic = make_clinic(session)
        other = make_clinic(
            session, name="Other Clinic", contact_phone="+14035550177", sender_number=None
        )
        token = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
        other_token = create_token(session, other, name="other", now=clock.now(), actor="test")
    app = FastAPI()
    mount_api(app, runtime)
    return ApiEnv(
        app=app,
        client=TestClient(app),
        clinic=clinic,
        other_clinic=other,
        token=token.secret,
        other_token=other_token.secret,
    )
