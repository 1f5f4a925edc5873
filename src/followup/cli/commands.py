"""Registers every command group on the root app (one import line per group)."""

from followup.cli import app
from followup.cli.clinic import clinic_app
from followup.cli.db import db_app
from followup.cli.enroll import enroll_command
from followup.cli.purge import purge_command
from followup.cli.replies import replies_app
from followup.cli.report import report_command
from followup.cli.schedule import schedule_app
from followup.cli.staff import staff_app
from followup.cli.status import status_command
from followup.cli.templates import templates_app
from followup.cli.tokens import token_app
from followup.cli.web import dev_command, web_command
from followup.cli.worker import worker_command

app.add_typer(db_app, name="db")
app.add_typer(clinic_app, name="clinic")
app.add_typer(staff_app, name="staff")
app.command("enroll")(enroll_command)
app.add_typer(schedule_app, name="schedule")
app.add_typer(templates_app, name="templates")
app.add_typer(token_app, name="token")
app.command("report")(report_command)
app.command("purge")(purge_command)
app.command("web")(web_command)
app.command("dev")(dev_command)
app.add_typer(replies_app, name="replies")
app.command("worker")(worker_command)
app.command("status")(status_command)
