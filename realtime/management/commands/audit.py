"""`manage.py audit --from ... --to ...`: compliance checks over the event log, JSON + CSV report."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.audit import run_audit, write_report


def _moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not an ISO date or date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Audit the event log between two moments (ISO dates/date-times, UTC if naive); writes JSON + CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="inclusive, e.g. 2026-11-01")
        parser.add_argument("--to", dest="end", required=True, help="exclusive, e.g. 2026-12-01")
        parser.add_argument("--out", default=None, help=f"directory (default {settings.AUDIT_REPORT_DIR})")
        parser.add_argument("--strict", action="store_true", help="exit with an error if any check fails")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _moment(options["start"]), _moment(options["end"])
        if end <= start:
            raise CommandError("--to must be after --from")
        report = run_audit(start=start, end=end)
        paths = write_report(report, Path(options["out"] or settings.AUDIT_REPORT_DIR))
        doc = report.to_dict()
        for name, check in doc["checks"].items():
            self.stdout.write(f"{name}: {check['checked']} checked, {len(check['failures'])} failure(s)")
        self.stdout.write(f"invalid events: {len(doc['invalid_events'])}")
        for path in paths:
            self.stdout.write(f"wrote {path}")
        if options["strict"] and not doc["ok"]:
            raise CommandError("audit found problems")
