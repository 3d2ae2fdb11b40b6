"""Exporters of the Celery processes: the worker's main process (summing its children) and beat.

The worker pre-forks its pool, so it runs with PROMETHEUS_MULTIPROC_DIR (ops/with-metrics-dir):
children write their counters to files, the exporter in the main process sums them per scrape.
"""

import os
from typing import Any

from celery.signals import beat_init, worker_init, worker_process_shutdown

from monitoring.exporter import start_process_exporter


@worker_init.connect
def _worker_exporter(**_: Any) -> None:
    start_process_exporter("worker")


@beat_init.connect
def _beat_exporter(**_: Any) -> None:
    start_process_exporter("beat")


@worker_process_shutdown.connect
def _child_gone(pid: int | None = None, **_: Any) -> None:
    # A pool child that exits takes its live gauges with it (counters stay in the sum).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
