"""The per-sender rate limit spaces sends evenly, per sender, with injected time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.ratelimit import SenderRateLimiter
from followup.delivery.transports.base import NullTransport
from tests.delivery.support import (
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
    statuses,
)


class FakeTime:
    """Time stands still; sleeps are recorded instead of slept."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))


def test_slots_are_spaced_per_sender() -> None:
    fake = FakeTime()
    limiter = SenderRateLimiter(5, monotonic=fake.monotonic, sleep=fake.sleep)
    waits = [limiter.acquire("+14035550100") for _ in range(4)]
    assert [round(w, 6) for w in waits] == [0, 0.2, 0.4, 0.6]
    assert limiter.acquire("+14035550199") == 0  # another sender has its own pace
    fake.now += 10
    assert limiter.acquire("+14035550100") == 0  # idle senders do not bank a burst


def test_no_limit_never_waits() -> None:
    fake = FakeTime()
    limiter = SenderRateLimiter(None, monotonic=fake.monotonic, sleep=fake.sleep)
    assert [limiter.acquire("x") for _ in range(100)] == [0.0] * 100
    assert fake.sleeps == []


def test_dispatcher_paces_each_clinic_sender(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    for slug, sender in (("one", "+14035550101"), ("two", "+14035550102")):
        clinic = make_clinic(session, slug=slug, sender=sender)
        for i in range(3):
            patient = make_patient(session, clinic, phone=f"+1403555{slug == 'one':d}20{i}")
            treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
            make_message(session, clinic, patient, treatment, send_at=clock.now())
    session.commit()
    fake = FakeTime()
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=NullTransport())
    dispatcher.limiter = SenderRateLimiter(2, monotonic=fake.monotonic, sleep=fake.sleep)

    assert dispatcher.dispatch_due()["sent"] == 6
    # Per sender: 0, 0.5, 1.0 s (the zero waits are not sleeps).
    assert sorted(fake.sleeps) == [0.5, 0.5, 1.0, 1.0]


def test_a_message_held_by_the_limit_past_its_lease_is_given_back_unsent(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    clinic = make_clinic(session)
    for i in range(3):
        patient = make_patient(session, clinic, phone=f"+140355530{i}0")
        treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
        make_message(session, clinic, patient, treatment, send_at=clock.now())
    session.commit()
    null = NullTransport()
    dispatcher = make_dispatcher(
        session_factory, clock, templates_dir, sms=null, concurrency=1, lease_seconds=60
    )
    # One message every 30 s: the second leaves 30 s after the claim (20 s of lease to
    # spare), the third would leave when its 60 s lease is over and recovery may already
    # be asking the provider about it.
    fake = FakeTime()
    dispatcher.limiter = SenderRateLimiter(
        1 / 30, monotonic=fake.monotonic, sleep=lambda s: clock.advance(timedelta(seconds=s))
    )

    counts = dispatcher.dispatch_batch()[1]

    assert counts == {"sent": 2, "released": 1}
    assert null.sms_count == 2
    session.expire_all()
    assert statuses(session) == {"sent": 2, "scheduled": 1}
