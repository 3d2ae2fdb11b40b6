"""`manage.py check_services`: one line per dependency; exit 1 naming what is down."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.dependencies import probe_all


class Command(BaseCommand):
    help = "Probe PostgreSQL, Redis, Kafka, the chain RPC and the Stripe API; fail with one line per service down."

    def handle(self, *args: Any, **options: Any) -> None:
        results = probe_all()
        for result in results:
            if result.ok and options["verbosity"] > 1:
                self.stdout.write(f"{result.name:12} ok  {result.address}  {result.latency_ms} ms")
        down = [r for r in results if not r.ok]
        if down:
            raise CommandError("\n".join(r.hint() for r in down))
        if options["verbosity"] > 0:
            self.stdout.write(f"all {len(results)} services answer")
