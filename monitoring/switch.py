"""The one switch: `MINTDROP_METRICS=0` turns every metric, exporter and middleware off."""

import os


def metrics_enabled() -> bool:
    """Read from the environment (not settings): exporters start before or without Django."""
    return os.environ.get("MINTDROP_METRICS", "1").strip().lower() not in {"0", "false", "no", "off"}


ENABLED = metrics_enabled()
