"""`followup web` (the web app alone) and `followup dev` (everything, for `make run`)."""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType
from typing import Any

import typer
import uvicorn

from followup.cli.common import console, runtime, settings
from followup.core.db import transaction
from followup.core.links import LinkSigner
from followup.core.phones import display_phone
from followup.core.runtime import upgrade_database
from followup.demo import seed_demo
from followup.web.app import create_app


def web_command(
    host: str | None = typer.Option(None, help="Bind address (default FOLLOWUP_HOST)."),
    port: int | None = typer.Option(None, help="Port (default FOLLOWUP_PORT)."),
) -> None:
    """Serve the dashboard and the webhooks."""
    # Given here, they are the settings' too: the public URL, when not set, follows them.
    chosen: dict[str, Any] = {
        name: value for name, value in (("host", host), ("port", port)) if value
    }
    with runtime(**chosen) as rt:
        app = create_app(rt)
        uvicorn.run(
            app,
            host=rt.settings.host,
            port=rt.settings.port,
            log_level="warning",
            # The client address (the sign-in throttle counts per address) comes from
            # X-Forwarded-For only when the TLS proxy in front is one of these.
            proxy_headers=True,
            forwarded_allow_ips=rt.settings.trusted_proxies,
        )


def dev_command() -> None:
    """Migrate, seed the demo clinic, start the web app and the worker; Ctrl-C stops them."""
    config = settings()
    upgrade_database(config.effective_database_url)
    with runtime() as rt, transaction(rt.sessions) as session:
        signer = LinkSigner(rt.settings.signing_key(), rt.settings.public_url)
        login = seed_demo(
            session, templates_dir=rt.templates_dir, now=rt.clock.now(), signer=signer
        )
    children = [_spawn("web")]
    if _has_command("worker"):
        children.append(_spawn("worker"))
    url = f"http://{config.host}:{config.port}/"
    console.print(f"\n[bold]followup is running[/] at [link={url}]{url}[/link]")
    console.print(f"  sign in as [bold]{login.email}[/] with password [bold]{login.password}[/]")
    console.print(
        f"  the clinic's number (patients text it): [bold]{display_phone(login.clinic_number)}[/]"
        f" ({login.clinic_number})"
    )
    console.print(
        "  play a patient: followup replies simulate"
        f' --clinic {login.clinic_slug} --from "{login.patient_phone}" "WORSE"',
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"  messages 'sent' by the console transport: {config.effective_outbox_file}")
    console.print("  Ctrl-C stops everything.\n")
    _supervise(children)


def _has_command(name: str) -> bool:
    from followup.cli import app

    groups = {group.name for group in app.registered_groups}
    commands = {command.name for command in app.registered_commands}
    return name in groups | commands


def _spawn(command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "followup", command])


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [child.returncode for child in children if child.returncode not in (0, -15, None)]
    if failed:
        raise typer.Exit(1)
