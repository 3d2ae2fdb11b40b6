"""`manage.py kafka_topics [--apply | --check]`: how the broker differs from `realtime/topics.py`, and fix it."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime import topic_admin


class Command(BaseCommand):
    help = (
        "Compare the declared Kafka topics (partitions, configs, replication factor, "
        "min.insync.replicas) with the broker and print the difference; with --apply, create missing "
        "topics, add partitions and update configs (idempotent); with --check, exit 1 on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--apply", action="store_true", help="make the changes (default: dry run)")
        mode.add_argument(
            "--check", action="store_true", help="change nothing; exit status 1 if anything differs"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        plans = topic_admin.plan()
        self.stdout.write(
            f"cluster {settings.KAFKA_BOOTSTRAP_SERVERS}: replication factor "
            f"{settings.KAFKA_REPLICATION_FACTOR}, min.insync.replicas {settings.KAFKA_MIN_INSYNC_REPLICAS}"
        )
        for item in plans:
            for line in item.describe():
                self.stdout.write(line)
        changed = [p for p in plans if p.changed]
        unfixable = [p for p in plans if p.warnings]
        if options["check"]:
            if changed or unfixable:
                raise CommandError(
                    f"{len({p.topic.name for p in changed + unfixable})} topic(s) differ from "
                    "realtime/topics.py and the KAFKA_* settings (lines marked ~, + or ! above)"
                )
            self.stdout.write("topics up to date")
            return
        if not changed and not unfixable:
            self.stdout.write("topics up to date")
        elif options["apply"] and changed:
            topic_admin.apply(changed)
            self.stdout.write(f"applied changes to {len(changed)} topic(s)")
        elif changed:
            self.stdout.write(f"{len(changed)} topic(s) differ; run with --apply to change the broker")
        if unfixable:
            self.stderr.write(
                f"{len(unfixable)} topic(s) have problems --apply does not fix (lines marked ! above)"
            )
