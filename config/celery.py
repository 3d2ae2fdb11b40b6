"""The Celery app: retried side effects (chain transactions, refunds) and beat schedules."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mintdrop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
