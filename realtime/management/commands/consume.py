"""`manage.py consume <group>`: run one consumer group's handlers (see `realtime/consumer.py`)."""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.tracing import configure_tracing
from monitoring.exporter import start_process_exporter
from realtime import registry
from realtime.consumer import ConsumerRunner
from realtime.topic_admin import wait_for_topics

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Consume the topics of a consumer group: validate, de-duplicate (inbox), handle, dead-letter."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("group", help="consumer group, e.g. sales, saga, nft, projector, diagnostics")
        parser.add_argument("--batch-size", type=int, default=None, help="messages per DB transaction")
        parser.add_argument("--max-messages", type=int, default=None, help="exit after this many messages")

    def handle(self, *args: Any, **options: Any) -> None:
        group = options["group"]
        known = registry.groups()
        if group not in known:
            raise CommandError(f"unknown consumer group {group!r}; groups with handlers: {', '.join(known)}")
        configure_tracing(group)  # service mintdrop-<group>
        wait_for_topics()  # a broker not up yet: wait for it, logging why (no crash loop)
        start_process_exporter(f"consume-{group}")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        runner = ConsumerRunner(group, batch_size=options["batch_size"])
        log.info("consumer %s: starting on %s", group, ", ".join(runner.topics))
        stats = runner.run(stop=stop, max_messages=options["max_messages"])
        log.info(
            "consumer %s: stopped",
            group,
            extra={
                "processed": stats.processed,
                "duplicates": stats.duplicates,
                "dead_lettered": stats.dead_lettered,
                "retries": stats.retries,
            },
        )
