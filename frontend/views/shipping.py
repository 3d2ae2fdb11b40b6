"""Merchant console: the To-ship queue (pick list per shipment), mark shipped / delivered, cannot ship."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from commerce import selectors
from commerce.models import ShipmentStatus
from commerce.services import shipments
from config.errors import ApplicationError
from frontend.forms import CannotShipForm, ShipForm
from frontend.messages import friendly
from frontend.views import user_id
from frontend.views.console import _is_owner, _merchant

ACTIONS = ("ship", "deliver", "cannot-ship")
TABS = [
    (ShipmentStatus.PENDING, "To ship"),
    (ShipmentStatus.SHIPPED, "Shipped"),
    (ShipmentStatus.DELIVERED, "Delivered"),
    (ShipmentStatus.CANCELLED, "Cannot ship"),
]


@login_required
def shipment_queue(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """Shipments of one status (the To-ship queue by default), oldest first, with their pick lists."""
    merchant = _merchant(request, merchant_id)
    status = request.GET.get("status") or ShipmentStatus.PENDING
    if status not in ShipmentStatus.values:
        status = ShipmentStatus.PENDING
    rows = selectors.merchant_shipments(merchant_id=merchant.pk, status=status)[:200]
    counts = {s: selectors.merchant_shipments(merchant_id=merchant.pk, status=s).count() for s, _ in TABS}
    return render(
        request,
        "frontend/console/shipments.html",
        {
            "merchant": merchant,
            "status": status,
            "tabs": [(s, label, counts[s]) for s, label in TABS],
            "shipments": rows,
            "ship_form": ShipForm(),
            "cannot_form": CannotShipForm(),
            "is_owner": _is_owner(request, merchant),
        },
    )


def _back(merchant_id: int, status: str) -> HttpResponse:
    return redirect(reverse("frontend:console-shipments", args=[merchant_id]) + f"?status={status}")


@login_required
@require_POST
def shipment_action(request: HttpRequest, merchant_id: int, pk: int, action: str) -> HttpResponse:
    """ship / deliver / cannot-ship one shipment; refusals come back as a message on the queue."""
    merchant = _merchant(request, merchant_id)
    if action not in ACTIONS:
        raise Http404("no such action")
    if action == "cannot-ship" and not _is_owner(request, merchant):  # it refunds: owners only
        messages.error(request, f"Shipment #{pk}: only an owner can cancel a shipment and refund it.")
        return _back(merchant.pk, ShipmentStatus.PENDING)
    try:
        if action == "ship":
            form = ShipForm(request.POST)
            if not form.is_valid():
                messages.error(
                    request,
                    f"Shipment #{pk}: "
                    + " ".join(
                        str(e["message"]) for errs in form.errors.get_json_data().values() for e in errs
                    ),
                )
                return _back(merchant.pk, ShipmentStatus.PENDING)
            shipments.mark_shipped(
                shipment_id=pk,
                merchant_id=merchant.pk,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                user_id=user_id(request),
            )
            messages.success(request, f"Shipment #{pk} marked shipped.")
            return _back(merchant.pk, ShipmentStatus.PENDING)
        if action == "deliver":
            shipments.mark_delivered(shipment_id=pk, merchant_id=merchant.pk)
            messages.success(request, f"Shipment #{pk} marked delivered.")
            return _back(merchant.pk, ShipmentStatus.SHIPPED)
        cancel = CannotShipForm(request.POST)
        if not cancel.is_valid():
            messages.error(request, f"Shipment #{pk}: say why it cannot ship.")
            return _back(merchant.pk, ShipmentStatus.PENDING)
        shipments.cancel_shipment(
            shipment_id=pk, merchant_id=merchant.pk, reason=cancel.cleaned_data["reason"]
        )
        messages.success(request, f"Shipment #{pk} cancelled; its items are being refunded.")
    except ApplicationError as exc:
        messages.error(request, f"Shipment #{pk}: " + friendly(exc.code, exc.message))
    return _back(merchant.pk, request.POST.get("from_status") or ShipmentStatus.PENDING)
