"""`manage.py show_trace <trace id>` or `--order <id>`: print a trace stored in Jaeger as a span tree."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.trace_view import fetch_trace, order_trace_ids, render


class Command(BaseCommand):
    help = "Print a trace from Jaeger's query API (JAEGER_QUERY_URL) as an indented span tree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "trace_id", nargs="?", help="32 hex digits (the trace_id of a log line or an event)"
        )
        parser.add_argument(
            "--order", type=int, help="every trace of this order's events still in the outbox"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["order"] is not None:
            trace_ids = order_trace_ids(options["order"])
            if not trace_ids:
                raise CommandError(
                    f"no events of order {options['order']} in the outbox (pruned, or none yet)"
                )
        elif options["trace_id"]:
            trace_ids = [options["trace_id"].strip().lower()]
        else:
            raise CommandError("give a trace id or --order <id>")
        for trace_id in trace_ids:
            trace = fetch_trace(trace_id)
            self.stdout.write(f"trace {trace_id}  ({settings.JAEGER_QUERY_URL}/trace/{trace_id})")
            if trace is None:
                self.stdout.write(
                    "  not in Jaeger (not exported yet, tracing off, or Jaeger restarted since)"
                )
                continue
            for line in render(trace):
                self.stdout.write("  " + line)
