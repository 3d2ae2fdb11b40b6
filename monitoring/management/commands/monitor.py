"""`manage.py monitor`: serves the system-wide gauges (monitoring/collectors.py) for Prometheus."""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry

from monitoring.collectors import SystemCollector
from monitoring.exporter import start_process_exporter
from monitoring.switch import ENABLED

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve outbox backlog, consumer lag, stuck sagas / transactions, chain head age, queue depths."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if not ENABLED:
            log.info("monitor: metrics are off (MINTDROP_METRICS=0); idling")
            stop.wait()
            return
        # Its own registry: the system gauges and this process's health, none of the per-process
        # counters (other processes record those; here they would only be zeros).
        registry = CollectorRegistry()
        for collector in (SystemCollector(), PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
        if start_process_exporter("monitor", registry=registry) is None:
            raise CommandError("monitor: could not serve metrics (port taken? see the log)")
        stop.wait()
