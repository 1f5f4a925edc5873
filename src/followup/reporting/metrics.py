"""What Prometheus scrapes: the database's figures, read at scrape time, and this process's
own counters and histograms (core.metrics).

The gauges come from one read of the database per scrape (reporting.operations), so every
web process and every worker reports the same values, however many there are. The
counters and histograms are per process; with PROMETHEUS_MULTIPROC_DIR set, prometheus-
client's multiprocess collector adds up those of every process sharing the directory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from followup.core.metrics import INSTRUMENTS
from followup.core.runtime import Runtime
from followup.replies.runtime import spool_of
from followup.reporting.operations import ServiceStatus, service_status

log = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    """Gauges computed from the database when Prometheus asks."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def describe(self) -> Iterable[Metric]:
        return []  # the metrics are only known by reading the database; never at register

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("followup_database_up", "1 if the database answered this scrape.")
        spool = GaugeMetricFamily(
            "followup_spooled_replies",
            "Replies kept in this node's spool while the database was unreachable.",
        )
        spool.add_metric([], len(spool_of(self.runtime).pending()))
        yield spool
        try:
            with self.runtime.sessions() as session:
                status = service_status(session, self.runtime.clock.now(), 0)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer error=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from database_gauges(status)


def database_gauges(status: ServiceStatus) -> Iterator[Metric]:
    """The service's state as gauges (pure: from a ServiceStatus)."""
    messages = GaugeMetricFamily(
        "followup_messages",
        "Messages waiting, in flight or needing a person, by status and channel.",
        labels=["status", "channel"],
    )
    for (message_status, channel), count in sorted(status.messages.items()):
        messages.add_metric([message_status.value, channel.value], count)
    yield messages
    due = GaugeMetricFamily("followup_queue_due", "Messages due now and not yet claimed.")
    due.add_metric([], status.queue.due)
    yield due
    oldest = GaugeMetricFamily(
        "followup_queue_oldest_due_age_seconds",
        "How long the oldest due, unclaimed message has waited (0: none is due).",
    )
    oldest.add_metric([], status.queue.oldest_age(status.now).total_seconds())
    yield oldest
    opened = GaugeMetricFamily(
        "followup_escalations_open", "Escalations not yet acknowledged.", labels=["priority"]
    )
    late = GaugeMetricFamily(
        "followup_escalations_past_sla",
        "Unacknowledged escalations older than their clinic's SLA.",
        labels=["priority"],
    )
    for priority, load in status.escalations.items():
        opened.add_metric([priority.value], load.open)
        late.add_metric([priority.value], load.past_sla)
    yield opened
    yield late
    alive = GaugeMetricFamily("followup_workers_alive", "Worker processes heard from lately.")
    alive.add_metric([], status.alive_workers)
    yield alive
    beats = GaugeMetricFamily(
        "followup_worker_last_heartbeat_timestamp_seconds",
        "When each worker with a heartbeat row last said it was alive (Unix time).",
        labels=["worker", "host", "version"],
    )
    for worker in status.workers:
        beats.add_metric(
            [worker.worker_id, worker.host, worker.version], worker.last_beat_at.timestamp()
        )
    yield beats


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """The registry one exposition serves: the database's gauges, and this process's
    instruments (or, in multiprocess mode, those of every process sharing the directory)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(runtime))
    directory = runtime.settings.prometheus_multiproc_dir
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        for instrument in INSTRUMENTS:
            registry.register(instrument)
        ProcessCollector(registry=registry)
    return registry
