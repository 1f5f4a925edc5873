"""Benchmark: the CPU one reply costs in the use case, by kind of reply, without HTTP.

    .venv/bin/python bench/replies.py [--batch 600] [--rounds 5] [--classifier-only]

First the classifier alone (no database): each reply of the webhook bench's mix, the mix,
a 1,000-character reply (budget: 2 ms) and a 100 kB paste, each next to its baseline in
the same run, fold() of the same text (the tokenising every reply pays), and read twice:
warm (the speller has seen its words) and cold (the speller's memory cleared first).

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
from followup.replies import classify, fold, load_lexicon
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


# A long reply as patients write them: 1,000 characters, the red flag near the end.
_FILLER = (
    "Hi, it's Maria from Thursday's appointment. Overall the redness looks like a sunburn "
    "and is already fading on the cheeks, the peeling started yesterday on my chin and it "
    "is a bit itchy but I'm not scratching. I've been using the bland moisturizer twice a "
    "day and SPF every time I go out, no makeup, no retinol, cool water only like you "
    "said. Day 2 I had a couple of small pimples on my jaw which I know is the purge. "
    "Honestly most of it is going the way they described and I'm happy with the results "
    "so far, my skin feels smoother already and my friends noticed. "
)
_TAIL = (
    "I did something dumb though, I scratched a dry flake on my forehead in my sleep and "
    "it opened up. There's some yellow stuff coming out of it now and the skin around it "
    "feels hot when I touch it. Should I come in? Also can I go to the gym on Saturday?"
)
LONG_REPLY = (_FILLER * 3)[: 1000 - len(_TAIL)] + _TAIL
CALM_REPLY = (_FILLER * 3)[:1000]


def measure_classifier(args: argparse.Namespace) -> None:
    """CPU per classify() call, best of rounds, next to fold() of the same text."""
    started = time.perf_counter()
    lexicon = load_lexicon()
    print(f"lexicon compiled in {(time.perf_counter() - started) * 1000:.0f} ms (once a process)")
    texts = [body for body, weight in webhook.REPLY_MIX for _ in range(weight)]
    cases: list[tuple[str, list[str]]] = [
        *((body, [body]) for body, _ in webhook.REPLY_MIX if body != "UNKNOWN"),
        ("(the mix)", texts),
        ("1,000 chars, red flag at the end", [LONG_REPLY]),
        ("1,000 chars, no red flag", [CALM_REPLY]),
        ("100 kB paste", [(LONG_REPLY + " ") * 100]),
    ]

    def best(call: Callable[[str], object], bodies: list[str], cold: bool) -> float:
        rounds = []
        repeat = max(1, args.batch // len(bodies)) if len(bodies[0]) < 5000 else 3
        for _ in range(args.rounds):
            began = time.thread_time()
            for _ in range(repeat):
                for body in bodies:
                    if cold:
                        lexicon.speller.forget()
                    call(body)
            rounds.append((time.thread_time() - began) / (repeat * len(bodies)) * 1000)
        return min(rounds)

    print(f"\n{'reply':<36} {'fold (baseline)':>15} {'classify warm':>14} {'cold':>8}  ms CPU")
    for name, bodies in cases:
        base = best(fold, bodies, cold=False)
        warm = best(lambda body: classify(body, lexicon), bodies, cold=False)
        cold = best(lambda body: classify(body, lexicon), bodies, cold=True)
        print(f"{name[:36]:<36} {base:>15.3f} {warm:>14.3f} {cold:>8.3f}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    webhook.add_postgres_url(parser)
    parser.add_argument("--batch", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--classifier-only", action="store_true", help="no database part")
    args = parser.parse_args()
    measure_classifier(args)
    if args.classifier_only:
        return 0
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
