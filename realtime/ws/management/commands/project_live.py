"""`manage.py project_live`: the Kafka -> WebSocket projector (see realtime/ws/projector.py)."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.tracing import configure_tracing
from monitoring.exporter import start_process_exporter
from realtime.topic_admin import wait_for_topics
from realtime.ws.projector import run_projector


class Command(BaseCommand):
    help = "Project inventory/drop/order/payment/nft events from Kafka to the live WebSocket streams."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--window-ms", type=int, default=None, help="stock coalescing window per drop")

    def handle(self, *args: Any, **options: Any) -> None:
        configure_tracing("projector")
        wait_for_topics()  # a broker not up yet: wait for it, logging why (no crash loop)
        start_process_exporter("projector")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run_projector(stop, window_ms=options["window_ms"])
