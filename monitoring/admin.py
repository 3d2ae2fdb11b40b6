"""The ops page: Admin -> Monitoring -> Ops (`/admin/monitoring/ops/`).

One page for the on-call engineer: every dependency's health, Prometheus's firing alerts, lag per
consumer group, the outbox backlog, open dead letters, stuck sagas and stuck transactions. The
buttons post to the existing admin actions of those rows (retry / refund an order, re-send / fee-bump
a transaction, re-drive a dead letter), so what they do and who may do it stays defined in one place.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from monitoring import selectors
from monitoring.models import Ops


@admin.register(Ops)
class OpsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        lag, lag_error = selectors.consumer_lag()
        alerts, alerts_error = selectors.firing_alerts()
        context = {
            **self.admin_site.each_context(request),
            "title": "Ops",
            "opts": self.model._meta,
            "dependencies": selectors.dependencies(),
            "alerts": alerts,
            "alerts_error": alerts_error,
            "prometheus_url": settings.PROMETHEUS_URL,
            "lag": lag,
            "lag_error": lag_error,
            "outbox": selectors.outbox_backlog(),
            "dead_letters": selectors.open_dead_letters(),
            "stuck_sagas": selectors.stuck_sagas(),
            "stuck_transactions": selectors.stuck_transactions(),
            "saga_deadline": settings.MONITOR_SAGA_STUCK_AFTER_SECONDS,
            "tx_deadline": settings.NFT_STUCK_AFTER_SECONDS,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/monitoring/ops.html", context)
