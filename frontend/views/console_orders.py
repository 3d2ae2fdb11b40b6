"""Merchant console: the orders screen (filters, search, pages) and one order's detail."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from commerce.payments import selectors as payments
from frontend import console_orders
from frontend.views.console import _merchant


@login_required
def order_list(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    status = request.GET.get("status", "all")
    if status not in console_orders.FILTERS_BY_KEY:
        status = "all"
    text = request.GET.get("q", "").strip()[:200]
    orders = console_orders.merchant_order_list(merchant_id=merchant.pk, status=status, text=text)
    page = Paginator(orders, console_orders.PAGE_SIZE).get_page(request.GET.get("page"))
    counts = console_orders.filter_counts(merchant_id=merchant.pk, text=text)
    tabs = [{"key": f.key, "label": f.label, "count": counts[f.key]} for f in console_orders.ORDER_FILTERS]
    return render(
        request,
        "frontend/console/orders.html",
        {"merchant": merchant, "page": page, "tabs": tabs, "status": status, "q": text},
    )


@login_required
def order_detail(request: HttpRequest, merchant_id: int, pk: int) -> HttpResponse:
    """Lines, buyer, payment attempts and refunds, and the saga's timeline of the order."""
    merchant = _merchant(request, merchant_id)
    order = console_orders.merchant_order_list(merchant_id=merchant.pk).filter(pk=pk).first()
    if order is None:
        raise Http404("no such order")
    return render(
        request,
        "frontend/console/order_detail.html",
        {"merchant": merchant, "order": order, "payment": payments.payment_summary(order_id=order.pk)},
    )
