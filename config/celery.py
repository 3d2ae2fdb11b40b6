"""The Celery app: retried side effects (chain transactions, refunds) and beat schedules."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mintdrop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Metrics exporters of the worker (main process; children write PROMETHEUS_MULTIPROC_DIR) and beat.
import monitoring.celery_hooks  # noqa: E402,F401


@worker_init.connect
def _start_tracing(**_: object) -> None:
    """Worker processes export spans as `mintdrop-worker` (the batch processor survives the pool's fork)."""
    from config.tracing import configure_tracing

    configure_tracing("worker")
