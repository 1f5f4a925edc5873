"""deploy/: the Prometheus alert rules are valid, fire as their unit tests say, and only
name metrics the app exports; the systemd units verify and are hardened."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from followup.core.clock import FixedClock
from followup.core.config import load_settings
from followup.core.db import make_engine, make_session_factory
from followup.core.runtime import Runtime
from followup.models import Base
from followup.reporting.metrics import registry_for
from tests.conftest import NewDatabase

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "followup-alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "followup-alerts.test.yml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum")}


def _tool(name: str, required_by: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get(required_by):
            pytest.fail(f"{name} is required ({required_by}=1) but not installed")
        pytest.skip(f"{name} is not installed")
    return path


def test_alert_rules_pass_promtool_and_their_unit_tests() -> None:
    promtool = _tool("promtool", "FOLLOWUP_REQUIRE_PROMTOOL")
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _exported_names(new_database: NewDatabase, tmp_path: Path) -> set[str]:
    engine = make_engine(new_database("sqlite"))
    Base.metadata.create_all(engine)
    runtime = Runtime(
        settings=load_settings(data_dir=tmp_path / "var"),
        engine=engine,
        sessions=make_session_factory(engine),
        clock=FixedClock(datetime(2026, 3, 7, tzinfo=UTC)),
    )
    text = generate_latest(registry_for(runtime)).decode()
    engine.dispose()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
    return names


def test_every_alert_names_only_metrics_the_app_exports(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    exported = _exported_names(new_database, tmp_path)
    rules = [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]
    assert {rule["alert"] for rule in rules} >= {
        "FollowupWorkerDown",
        "FollowupBacklogLate",
        "FollowupUrgentEscalationPastSLA",
        "FollowupProviderErrorRate",
    }
    for rule in rules:
        used = set(re.findall(r"\bfollowup_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_systemd_units_are_hardened(unit: Path) -> None:
    directives = set(unit.read_text().splitlines())
    for line in (
        "User=followup",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/followup",
        "EnvironmentFile=/etc/followup/followup.env",
    ):
        assert line in directives, (unit.name, line)


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze", "FOLLOWUP_REQUIRE_SYSTEMD_ANALYZE")
    instances = []
    for unit in UNITS:
        # The install path does not exist here: point ExecStart at a real program.
        text = unit.read_text().replace(
            "/opt/followup/.venv/bin/followup", shutil.which("true") or "/bin/true"
        )
        instance = tmp_path / unit.name.replace("@.", "@9000.")
        instance.write_text(text)
        instances.append(str(instance))
    verified = subprocess.run(
        [analyze, "verify", "--man=no", *instances], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stderr.strip() == "", verified.stderr
