"""JSON log lines for every process, so logs can be shipped and queried as data."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from realtime.tracing import current_log_ids

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; `extra=` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # The span (or the plain trace id, tracing off) of the work that logged; null outside any.
        doc["trace_id"], doc["span_id"] = current_log_ids() or (None, None)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)
