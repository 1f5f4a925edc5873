"""Benchmark: the CPU one reply costs in the use case, by kind of reply, without HTTP.

    .venv/bin/python bench/replies.py [--batch 600] [--rounds 5]

On a scratch PostgreSQL database (as bench/webhook.py: 300 enrolled patients, dropped at
the end) each kind of reply in the webhook bench's mix is handled `rounds` times
`batch` times, in this one thread, two ways in the same process:

- **classify** (the baseline): reading the text alone (`replies.classify`), the pure part;
- **handle_sms**: what the webhook runs (`replies.receive.handle_sms`): the reply read,
  stored and acted on in one transaction, the same on every database.

Prints the best round's CPU per reply (thread time: this process only, not PostgreSQL),
since rounds on a shared machine are as noisy as its neighbours. Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # bench/webhook.py: the scratch database, the seed and the reply mix

from followup.core.config import load_settings
from followup.core.runtime import Runtime, build_runtime
from followup.replies import classify
from followup.replies.receive import handle_sms
from followup.replies.runtime import reply_deps
from followup.replies.sms import InboundSms

UNKNOWN_SENDER = "+14035550177"


def _sms(body: str, phones: list[str], rng: random.Random) -> InboundSms:
    unknown = body == "UNKNOWN"
    return InboundSms(
        message_sid="SM" + uuid.uuid4().hex,
        from_number=UNKNOWN_SENDER if unknown else rng.choice(phones),
        to_number=webhook.CLINIC_NUMBER,
        body="Who is this?" if unknown else body,
        media=[],
    )


def best_cpu_ms(handle: Callable[[InboundSms], object], make: Callable[[], InboundSms],
                batch: int, rounds: int) -> float:  # fmt: skip
    best = float("inf")
    for _ in range(rounds):
        replies = [make() for _ in range(batch)]
        started = time.thread_time()
        for sms in replies:
            handle(sms)
        best = min(best, (time.thread_time() - started) / batch * 1000)
    return best


def measure(runtime: Runtime, phones: list[str], args: argparse.Namespace) -> None:
    deps = reply_deps(runtime)
    engine, now = runtime.engine, runtime.clock.now

    def classify_only(sms: InboundSms) -> object:
        return classify(sms.body, deps.lexicon)

    def webhook_path(sms: InboundSms) -> object:
        return handle_sms(engine, deps, sms, now())

    rng = random.Random(7)
    mix = [body for body, weight in webhook.REPLY_MIX for _ in range(weight)]
    kinds = [(body, weight) for body, weight in webhook.REPLY_MIX] + [("(the mix)", 100)]
    print(f"{'reply':<30} {'per 100':>7} {'classify':>9} {'handle_sms':>11}  ms CPU")
    for body, weight in kinds:

        def make(body: str = body) -> InboundSms:
            return _sms(rng.choice(mix) if body == "(the mix)" else body, phones, rng)

        for handle in (classify_only, webhook_path):  # warm both paths' caches
            best_cpu_ms(handle, make, 50, 1)
        base = best_cpu_ms(classify_only, make, args.batch, args.rounds)
        whole = best_cpu_ms(webhook_path, make, args.batch, args.rounds)
        print(f"{body:<30} {weight:>7} {base:>9.3f} {whole:>11.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    webhook.add_postgres_url(parser)
    parser.add_argument("--batch", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = webhook.create_database(args.postgres_url)
    try:
        phones = webhook.seed(url)
        with tempfile.TemporaryDirectory() as data_dir:
            settings = load_settings(
                database_url=url.render_as_string(hide_password=False),
                public_url="http://127.0.0.1",
                twilio_auth_token=webhook.AUTH_TOKEN,
                secret_key="bench-secret-" + "x" * 32,
                data_dir=Path(data_dir),
            )
            runtime = build_runtime(settings)
            print(f"PostgreSQL, {webhook.PATIENTS} patients, best of {args.rounds} x {args.batch}"
                  f" replies per cell, load average {os.getloadavg()[0]:.1f}\n")  # fmt: skip
            measure(runtime, phones, args)
            runtime.engine.dispose()
    finally:
        webhook.drop_database(args.postgres_url, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
