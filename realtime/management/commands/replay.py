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
        self.stdout.write(
            f"replayed {result.messages} message(s): {result.applied} applied, {result.duplicates} duplicate(s), "
            f"{result.invalid} invalid; {result.rows} row(s) in {result.table}"
        )
        if result.differences:
            message = f"{result.differences} row(s) differ from the live projection"
            if options["check"]:
                raise CommandError(message)
            self.stdout.write(message)
        else:
            self.stdout.write("equal to the live projection")
