"""`followup replies evaluate FILE`: how the classifier reads a labelled set of replies.

Exit 0 when every urgent reply is read as urgent, 1 when one is missed (a build that
must fail), 2 when the file or a clinic lexicon cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followup.replies import Intent, LexiconError, load_lexicon
from followup.replies.classifier.evaluation import (
    Evaluation,
    LabelledSetError,
    Ratio,
    evaluate,
    read_labelled,
)


def evaluate_command(
    path: Annotated[
        Path, typer.Argument(help="Labelled replies: text intent urgent concept lang note.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    lexicon_paths: Annotated[
        list[Path] | None,
        typer.Option("--lexicon", help="A clinic lexicon file extending the packaged one."),
    ] = None,
) -> None:
    """Score the classifier on a labelled set: urgent recall, false alarms, intents."""
    try:
        replies = read_labelled(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, LabelledSetError) as error:
        typer.echo(f"error: {path}: {error}", err=True)
        raise typer.Exit(code=2) from error
    try:
        lexicon = load_lexicon(*(lexicon_paths or []))
    except LexiconError as error:  # the message names the lexicon file
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    result = evaluate(replies, lexicon)
    if json_output:
        typer.echo(json.dumps(as_json(result), ensure_ascii=False, indent=2))
    else:
        _print(Console(), result)
    missed = result.urgent_recall()
    if missed.hits < missed.total:
        typer.echo(
            f"FAIL: {missed.total - missed.hits} urgent replies not read as urgent", err=True
        )
        raise typer.Exit(code=1)


def _figure(ratio: Ratio) -> dict[str, object]:
    return {"hits": ratio.hits, "total": ratio.total, "rate": round(ratio.value, 4)}


def as_json(result: Evaluation) -> dict[str, object]:
    """The figures and the misclassified rows, for machines."""
    by_lang = {
        lang: {
            "urgent_recall": _figure(result.urgent_recall(lang)),
            "false_alarms": _figure(result.false_alarms(lang)),
            "intent_accuracy": _figure(result.intent_accuracy(lang)),
        }
        for lang in result.languages
    }
    return {
        "replies": len(result.outcomes),
        "urgent_recall": _figure(result.urgent_recall()),
        "false_alarms": _figure(result.false_alarms()),
        "intent_accuracy": _figure(result.intent_accuracy()),
        "by_language": by_lang,
        "concept_recall": {c: _figure(r) for c, r in result.concept_recall.items()},
        "confusion": [
            {"labelled": want.value, "classified": got.value, "count": count}
            for (want, got), count in sorted(result.confusion.items())
        ],
        "misclassified": [
            {
                "line": o.reply.line,
                "text": o.reply.text,
                "expected": {
                    "intent": o.reply.intent.value,
                    "urgent": o.reply.urgent,
                    "concepts": list(o.reply.concepts),
                },
                "got": {
                    "intent": o.result.intent.value,
                    "urgent": o.result.urgent,
                    "matched": list(o.result.matched),
                },
            }
            for o in result.misclassified
        ],
    }


def _percent(ratio: Ratio) -> str:
    return f"{ratio.value:.1%} ({ratio.hits}/{ratio.total})"


def _print(console: Console, result: Evaluation) -> None:
    summary = Table("", "urgent recall", "false alarms", "intent accuracy", title="Triage")
    for lang in [None, *result.languages]:
        summary.add_row(
            lang or "all",
            _percent(result.urgent_recall(lang)),
            _percent(result.false_alarms(lang)),
            _percent(result.intent_accuracy(lang)),
        )
    console.print(summary)
    concepts = Table("concept", "recall", title="Red-flag concepts")
    for concept, ratio in result.concept_recall.items():
        concepts.add_row(concept, _percent(ratio))
    console.print(concepts)
    console.print(_confusion(result))
    wrong = Table("line", "reply", "expected", "got", title="Misclassified")
    for o in result.misclassified:
        want = f"{o.reply.intent.value}{' URGENT' if o.reply.urgent else ''}"
        got = f"{o.result.intent.value}{' URGENT' if o.result.urgent else ''}"
        if o.missed_concepts:
            want += f" ({', '.join(o.reply.concepts)})"
        # Replies are patient text: print them literally, never as rich markup.
        wrong.add_row(
            str(o.reply.line),
            escape(o.reply.text),
            want,
            escape(got + " " + ", ".join(o.result.matched)),
        )
    console.print(wrong)


def _confusion(result: Evaluation) -> Table:
    intents = list(Intent)
    table = Table("labelled → classified", *(i.value for i in intents), title="Intents")
    for want in intents:
        counts = [result.confusion.get((want, got), 0) for got in intents]
        if any(counts):
            table.add_row(want.value, *(str(c) if c else "" for c in counts))
    return table
