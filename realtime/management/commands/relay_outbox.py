"""`manage.py relay_outbox`: the relay process (see `realtime/relay.py`)."""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.tracing import configure_tracing
from monitoring.exporter import start_process_exporter
from realtime.relay import make_relay
from realtime.topic_admin import wait_for_topics

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Publish committed outbox rows to Kafka in order per key (several relays share the outbox "
        "partitions; RELAY_MODE=mark: the earlier single-leader relay)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=None, help="rows per round (RELAY_BATCH_SIZE)")
        parser.add_argument("--once", action="store_true", help="publish what is pending, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        configure_tracing("relay")
        wait_for_topics()  # a broker not up yet: wait for it, logging why (no crash loop)
        relay = make_relay(batch_size=options["batch_size"])
        if options["once"]:
            if not relay.try_become_leader():
                self.stderr.write("another relay is active; nothing done")
                return
            published = relay.drain()
            relay.close()
            self.stdout.write(f"published {published} event(s)")
            return
        start_process_exporter("relay")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("relay: starting")
        stats = relay.run(stop=stop)
        log.info("relay: stopped", extra={"published": stats.published, "batches": stats.batches})
