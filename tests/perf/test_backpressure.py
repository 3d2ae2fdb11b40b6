"""Backpressure (issue #19, item 4), small: bench/backpressure.py's run with a burst of a few thousand
events while the `sales` group runs 10x slower, on the test database and real processes.

Asserts the correctness parts only, never a time: the slowed group's lag in Kafka grew during the
burst and drained afterwards; it counted every sale once; the viewer got far fewer stock frames than
stock changes (coalesced, not one per event) and its last frame carries the last counters; every
reservation of the load was answered 201. The latency figures are the benchmark's (bench/README.md).
"""

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
EVENTS = 3000


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_backpressure", ROOT / "bench" / "backpressure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env() -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ABUSE_THROTTLE_ENABLED": "false",
        "METRICS_PORT_BASE": "off",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }


def test_a_burst_with_a_slowed_group_builds_lag_that_drains_and_frames_coalesce(
    transactional_db: Any,
) -> None:
    result = _bench().run(
        env=_env(), events=EVENTS, slowdown=10.0, rate=5.0, unloaded_s=6.0, drain_timeout=400.0,
        log_dir=ROOT / "artifacts" / "backpressure-logs" / os.environ.get("DATABASE_TEST_NAME", "test"),
    )  # fmt: skip
    print(json.dumps(result), flush=True)  # the figures of this small run, for the record (-s)
    lag, frames = result["lag"], result["frames"]
    assert lag["peak"] > 0, lag  # the slowed group fell behind in Kafka
    assert lag["drained"] and lag["zero_after_load_stopped"], lag  # and caught up afterwards
    assert result["sales_units"] == EVENTS  # every sale counted once by the slowed group
    assert frames["last_frame_is_final"], frames
    # One frame per coalescing window, not one per event: far fewer frames than stock changes.
    assert 0 < frames["viewer_stock_frames"] < EVENTS / 10, frames
    for window in ("unloaded", "burst"):
        statuses = result["reserve"][window]["statuses"]
        assert result["reserve"][window]["requests"] > 0 and set(statuses) == {"201"}, (window, statuses)
