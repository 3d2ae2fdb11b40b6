"""`manage.py replay <projection>`: rebuild a read model from the start of the log into a fresh table."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.replay import PROJECTIONS, rebuild


class Command(BaseCommand):
    help = (
        "Rebuild a projection from the beginning of the Kafka log into <table>_rebuild and compare with live."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("projection", choices=sorted(PROJECTIONS), help="read model to rebuild")
        parser.add_argument(
            "--check", action="store_true", help="exit with an error if the rebuild differs from live"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = rebuild(options["projection"])
        self.stdout.write(result.summary())
        if result.differences and options["check"]:
            raise CommandError(result.verdict())
        self.stdout.write(result.verdict())
