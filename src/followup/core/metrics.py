"""The process-local instruments: what one process counts and times as it works.

Counters and histograms only, created outside any registry; an exposition (the web app's
/metrics, the worker's port) builds its registry with `reporting.metrics.registry_for`.
When PROMETHEUS_MULTIPROC_DIR is set, prometheus-client keeps their values in files in
that directory, so the N processes of one service add up in one scrape. Gauges derived
from the database are not here: they are read at scrape time (reporting.metrics).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PROVIDER = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CLAIM_SECONDS = Histogram(
    "followup_claim_duration_seconds",
    "Time to claim one batch of due messages (lock, lease, events, jobs built).",
    buckets=_FAST,
    registry=None,
)
SEND_SECONDS = Histogram(
    "followup_send_duration_seconds",
    "Time to hand one message to its provider (render and provider call).",
    ["channel"],
    buckets=_PROVIDER,
    registry=None,
)
PROVIDER_ERRORS = Counter(
    "followup_provider_errors",
    "Sends the provider refused or that failed, by channel, error code and kind.",
    ["channel", "code", "kind"],
    registry=None,
)
SEND_OUTCOMES = Counter(
    "followup_send_outcomes",
    "Messages the worker tried to send, by channel and outcome (sent, transient, permanent,"
    " withheld, released).",
    ["channel", "outcome"],
    registry=None,
)
WEBHOOK_SECONDS = Histogram(
    "followup_webhook_duration_seconds",
    "Time to answer a provider's webhook, by route.",
    ["route"],
    buckets=_FAST,
    registry=None,
)

INSTRUMENTS = (CLAIM_SECONDS, SEND_SECONDS, PROVIDER_ERRORS, SEND_OUTCOMES, WEBHOOK_SECONDS)
