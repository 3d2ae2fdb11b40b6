"""`manage.py gen_event_docs [--check]`: regenerate docs/events.md from the event schemas."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.docgen import DOC_PATH, render, write


class Command(BaseCommand):
    help = "Write docs/events.md (topics, keys, types, fields, examples) from realtime/schemas/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="fail if docs/events.md is out of date")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            if not DOC_PATH.exists() or DOC_PATH.read_text() != render():
                raise CommandError(f"{DOC_PATH} is out of date: run manage.py gen_event_docs")
            self.stdout.write(f"{DOC_PATH} is up to date")
            return
        changed = write()
        self.stdout.write(f"{'wrote' if changed else 'unchanged'} {DOC_PATH}")
