"""`followup templates ...`: render every message template with sample data and check it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followup.messages.automatic import (
    CLINIC_FREE_REPLIES,
    REPLIES_WITHOUT_CLINIC,
    REPLY_NAMES,
    ReplyTextError,
    ReplyTexts,
    SampleClinic,
)
from followup.messages.plans import PlanError, load_plan
from followup.messages.rendering import (
    LANGUAGES,
    Channel,
    MessageRenderer,
    SmsBudget,
    TemplateRef,
    TemplateRenderError,
    default_templates_dir,
    sample_context,
    sms_budget,
)
from followup.messages.segments import analyze_sms, is_gsm7

templates_app = typer.Typer(
    help="Check message templates.", no_args_is_help=True, add_completion=False
)

CHANNELS: tuple[Channel, ...] = ("sms", "email")
# The sample clinic's number as `display_phone` prints it in each language's sample.
_SAMPLE_PHONES = {"fr": "+15145550148"}


@dataclass
class CheckReport:
    """What `templates check` found: rendered messages, warnings and errors."""

    rendered: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _context_for(templates_dir: Path, ref: TemplateRef) -> dict[str, object]:
    context = sample_context(ref.lang)
    day = next(s.day for s in load_plan(templates_dir, ref.plan).steps if s.name == ref.step)
    context["step"] = {"day": day}
    return context


def _check_one(renderer: MessageRenderer, ref: TemplateRef, report: CheckReport) -> None:
    context = _context_for(renderer.templates_dir, ref)
    common: dict[str, object] = {
        "channel": ref.channel,
        "lang": ref.lang,
        "plan": ref.plan,
        "step": ref.step,
    }
    if ref.channel == "email":
        email = renderer.render_email(ref.plan, ref.step, ref.lang, context)
        report.rendered.append(
            {
                "template": email.template,
                **common,
                "subject": email.subject,
                "body": email.text,
                "html": email.html,
            }
        )
        return
    sms = renderer.render_sms(ref.plan, ref.step, ref.lang, context)
    _add_sms(report, sms.template, sms.body, sms_budget(ref.lang), common)


def _add_sms(
    report: CheckReport,
    template: str,
    body: str,
    budget: SmsBudget,
    common: dict[str, object],
) -> None:
    """One rendered SMS in the report, with an error for each way it is over its budget
    (carriers bill per segment; README, "Languages and SMS encoding")."""
    analysis = analyze_sms(body)
    report.rendered.append(
        {
            "template": template,
            **common,
            "body": body,
            "encoding": analysis.encoding,
            "segments": analysis.segments,
            "units": analysis.units,
            "budget": f"{budget.encoding} ≤{budget.segments}",
        }
    )
    problems = budget.problems(analysis)
    if analysis.encoding != "GSM-7":
        odd = sorted({char for char in body if ord(char) > 0x7F and not is_gsm7(char)})
        problems = [f"{p} because of {odd}" if p.startswith("UCS-2") else p for p in problems]
    report.errors.extend(f"{template}: {problem}" for problem in problems)


def _check_replies(templates_dir: Path, report: CheckReport) -> None:
    """Render every automatic reply found under `_replies/` with the sample clinic and,
    for the answers that can go out without one, with no clinic."""
    texts = ReplyTexts(templates_dir)
    for name in REPLY_NAMES:
        for path in sorted((templates_dir / "_replies").glob(f"{name}.sms.*.txt")):
            lang = path.name.split(".")[-2]
            for label, clinic in _reply_cases(name, lang):
                try:
                    body = texts.reply(name, lang, clinic)
                except ReplyTextError as exc:
                    report.errors.append(str(exc))
                    break
                common: dict[str, object] = {
                    "channel": "sms",
                    "lang": lang,
                    "plan": "_replies",
                    "step": name + label,
                }
                budget = sms_budget(lang, reply=True)
                _add_sms(report, f"_replies/{path.name}{label}", body, budget, common)


def _reply_cases(name: str, lang: str) -> list[tuple[str, SampleClinic | None]]:
    sample = sample_context(lang)["clinic"]
    assert isinstance(sample, dict)
    clinic = SampleClinic(str(sample["name"]), _SAMPLE_PHONES.get(lang, "+14035550148"))
    cases: list[tuple[str, SampleClinic | None]] = []
    if name not in CLINIC_FREE_REPLIES:
        cases.append(("", clinic))
    if name in REPLIES_WITHOUT_CLINIC:
        cases.append((" (no clinic)", None))
    return cases


def _missing_templates(templates_dir: Path, refs: list[TemplateRef]) -> list[str]:
    # A plan must speak every patient language (and any other it speaks) at every step on
    # every channel: otherwise the worker fails on that patient's message, days after
    # enrollment.
    present = set(refs)
    missing: list[str] = []
    for plan in sorted({ref.plan for ref in refs}):
        langs = sorted({ref.lang for ref in refs if ref.plan == plan} | set(LANGUAGES))
        for step in load_plan(templates_dir, plan).steps:
            for channel in CHANNELS:
                missing.extend(
                    f"{plan}/{step.name}: no {channel} template in {lang!r}"
                    for lang in langs
                    if TemplateRef(plan, step.name, channel, lang) not in present
                )
    return missing


def run_check(templates_dir: Path) -> CheckReport:
    """Render every template under `templates_dir` with sample data; collect problems."""
    report = CheckReport()
    renderer = MessageRenderer(templates_dir)
    try:
        refs = renderer.template_names()
    except PlanError as exc:
        report.errors.append(str(exc))
        return report
    if not refs:
        report.errors.append(f"{templates_dir}: no plans with templates found")
    report.errors.extend(_missing_templates(templates_dir, refs))
    for ref in refs:
        try:
            _check_one(renderer, ref, report)
        except TemplateRenderError as exc:
            report.errors.append(str(exc))
    _check_replies(templates_dir, report)
    return report


def _print_table(report: CheckReport) -> None:
    table = Table(title="Message templates rendered with sample data")
    for column in ("plan/step", "channel", "lang", "encoding", "segments", "length", "budget"):
        table.add_column(column, no_wrap=True)
    for item in report.rendered:
        is_sms = item["channel"] == "sms"
        table.add_row(
            f"{item['plan']}/{item['step']}",
            str(item["channel"]),
            str(item["lang"]),
            str(item["encoding"]) if is_sms else "-",
            str(item["segments"]) if is_sms else "-",
            str(item["units"]) if is_sms else f"{len(str(item['body']))} chars",
            str(item["budget"]) if is_sms else "-",
        )
    Console().print(table)


@templates_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Where plans and templates live.")
    ] = None,
) -> None:
    """Render every template in every language with sample data; exit 1 on any problem."""
    directory = templates_dir or default_templates_dir()
    if not directory.is_dir():
        typer.echo(f"error: templates directory {directory} does not exist", err=True)
        raise typer.Exit(2)
    report = run_check(directory)
    if as_json:
        typer.echo(json.dumps(report.rendered, indent=2, ensure_ascii=False))
    else:
        _print_table(report)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    if report.errors:
        raise typer.Exit(1)
