"""`manage.py kafka_topics [--apply]`: show how the broker differs from `realtime/topics.py`, and fix it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime import topic_admin


class Command(BaseCommand):
    help = (
        "Compare the declared Kafka topics with the broker and print the difference; "
        "with --apply, create missing topics, add partitions and update configs (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="make the changes (default: dry run)")

    def handle(self, *args: Any, **options: Any) -> None:
        plans = topic_admin.plan()
        for item in plans:
            for line in item.describe():
                self.stdout.write(line)
        changed = [p for p in plans if p.changed]
        if not changed:
            self.stdout.write("topics up to date")
        elif options["apply"]:
            topic_admin.apply(changed)
            self.stdout.write(f"applied changes to {len(changed)} topic(s)")
        else:
            self.stdout.write(f"{len(changed)} topic(s) differ; run with --apply to change the broker")
