"""`manage.py run_waiting_room`: the admitter (Procfile `waitroom`), see commerce/waiting_room/services.py.

Every COMMERCE_WAITING_ROOM_TICK_SECONDS it opens rooms whose drop started (the lottery), expires
overdue admissions and admits the next buyers of every queued drop. Several copies may run: every
step is one atomic Redis script and the rate is a token bucket kept in Redis, so they share the rate.
"""

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from commerce.waiting_room.services import tick_all

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Admit queued buyers of drops with a waiting room, at each room's rate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one tick, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            for result in tick_all():
                self.stdout.write(
                    f"drop {result.drop_id}: admitted {len(result.admitted)}, expired {len(result.expired)}"
                )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("waiting room admitter: starting")
        ready = False
        while not stop.is_set():
            close_old_connections()
            try:
                tick_all()
            except Exception:  # a database blip must not end the admitter; the next tick retries
                log.exception("waiting room tick failed")
            if not ready:  # one line on stdout once it ticks (benchmarks and tests wait for it)
                self.stdout.write("waiting room admitter: ticking")
                self.stdout.flush()
                ready = True
            stop.wait(settings.COMMERCE_WAITING_ROOM_TICK_SECONDS)
        log.info("waiting room admitter: stopped")
