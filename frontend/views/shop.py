"""Storefront pages: home, product, drop, cart and checkout."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from commerce import selectors
from commerce.models import Drop, DropState, Order, OrderStatus
from commerce.services.orders import place_order
from commerce.services.reservations import cancel_reservation, release_expired_reservations
from commerce.shows import selectors as show_selectors
from config.errors import ApplicationError
from frontend import selectors as pages
from frontend.messages import friendly
from frontend.views import user_id


def home(request: HttpRequest) -> HttpResponse:
    """Live drops first, then upcoming ones, live and upcoming shows, then a few products."""
    drops = list(selectors.public_drops().exclude(state=DropState.ENDED).order_by("starts_at", "pk")[:50])
    return render(
        request,
        "frontend/home.html",
        {
            "live_drops": [d for d in drops if d.state in pages.LIVE_STATES],
            "upcoming_drops": [d for d in drops if d.state == DropState.SCHEDULED],
            "shows": show_selectors.public_shows()[:6],
            "products": selectors.public_products().order_by("-pk")[:12],
        },
    )


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.public_products().filter(pk=pk).first()
    if product is None:
        raise Http404("no such product")
    drops = (
        selectors.public_drops()
        .filter(items__sku__product=product)
        .exclude(state=DropState.ENDED)
        .distinct()
        .order_by("starts_at")
    )
    return render(
        request,
        "frontend/product.html",
        {"product": product, "media": pages.media_of(product), "drops": drops[:10]},
    )


def _drop(pk: int) -> Drop:
    drop = selectors.public_drops().filter(pk=pk).first()
    if drop is None:
        raise Http404("no such drop")
    return drop


def drop_detail(request: HttpRequest, pk: int) -> HttpResponse:
    drop = _drop(pk)
    buyer_id = request.user.pk if request.user.is_authenticated else None
    items: list[dict[str, Any]] = [
        {"item": item, "product": item.sku.product, "media": pages.media_of(item.sku.product)}
        for item in drop.items.all()
    ]
    return render(
        request,
        "frontend/drop.html",
        {"drop": drop, "items": items, "held": pages.units_held(drop_id=drop.pk, buyer_id=buyer_id)},
    )


def drop_widget(request: HttpRequest, pk: int) -> HttpResponse:
    """Just the drop widget (stock, countdown, reserve): embeddable in other pages, e.g. live shows."""
    drop = _drop(pk)
    buyer_id = request.user.pk if request.user.is_authenticated else None
    items = [
        {"item": i, "product": i.sku.product, "media": pages.media_of(i.sku.product)}
        for i in drop.items.all()
    ]
    return render(
        request,
        "frontend/partials/drop_widget.html",
        {"drop": drop, "items": items, "held": pages.units_held(drop_id=drop.pk, buyer_id=buyer_id)},
    )


def _cart_context(request: HttpRequest) -> dict[str, Any]:
    release_expired_reservations(buyer_id=user_id(request), limit=100)  # lazy expiry, as the API does
    rows = list(
        selectors.buyer_active_reservations(buyer_id=user_id(request)).select_related(
            "item__sku__product", "drop"
        )
    )
    total = sum(r.quantity * r.item.price for r in rows)
    currency = rows[0].item.currency if rows else "usd"
    return {"reservations": rows, "total": total, "currency": currency}


@login_required
def cart(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/cart.html", _cart_context(request))


@login_required
@require_POST
def cart_release(request: HttpRequest, reservation_id: str) -> HttpResponse:
    """Give a reservation back (htmx swaps the cart body; plain POST redirects)."""
    try:
        cancel_reservation(reservation_id=reservation_id, buyer_id=user_id(request))  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, friendly(exc.code, exc.message))
    except ValueError:
        messages.error(request, friendly("not_found"))
    if request.headers.get("HX-Request"):
        return render(request, "frontend/partials/cart_body.html", _cart_context(request))
    return redirect("frontend:cart")


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Turn the cart into an order awaiting payment, then go to the payment page."""
    try:
        order = place_order(buyer_id=user_id(request))
    except ApplicationError as exc:
        messages.error(request, friendly(exc.code, exc.message))
        return redirect("frontend:cart")
    return redirect("frontend:pay", pk=order.pk)


@login_required
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """The payment step: demo card against stripe-mock, or Stripe's Payment Element with real keys."""
    order = Order.objects.filter(pk=pk, buyer_id=user_id(request)).prefetch_related("lines").first()
    if order is None:
        raise Http404("no such order")
    if order.status != OrderStatus.PENDING_PAYMENT:
        return redirect("frontend:order", pk=order.pk)
    return render(
        request,
        "frontend/pay.html",
        {
            "order": order,
            "stripe_js_url": "" if settings.PAYMENTS_DEMO_CONFIRM else settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )
