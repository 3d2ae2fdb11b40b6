"""Kafka handlers of the realtime app: the `sales` projection and the diagnostics probe.

The `diagnostics` group is diagnostics only: it records each `diagnostics.ping` as a row, the
effect that crash tests count and `bench/pipeline.py` times. It has no business meaning.
"""

from datetime import datetime

from realtime.events import Event
from realtime.models import DiagnosticsPing
from realtime.projections import sales  # noqa: F401  (registers the live `sales` projection)
from realtime.registry import handles


@handles("diagnostics", "diagnostics.ping")
def record_ping(event: Event) -> None:
    """Diagnostics: one row per ping processed (no unique key, so a double effect would show)."""
    DiagnosticsPing.objects.create(
        event_id=event.id,
        key=event.key,
        seq=event.payload["seq"],
        sent_at=datetime.fromisoformat(event.payload["sent_at"]),
    )
