"""Storefront pages: home, product, drop, cart and checkout."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from commerce import selectors
from commerce.addresses import ShippingAddress, parse_shipping_address
from commerce.models import Drop, DropState, Order, OrderStatus
from commerce.services.orders import place_order
from commerce.services.reservations import cancel_reservation, release_expired_reservations
from commerce.shows import selectors as show_selectors
from config.errors import ApplicationError
from frontend import selectors as pages
from frontend.forms import ShippingAddressForm
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


def _cart_context(request: HttpRequest, address_form: ShippingAddressForm | None = None) -> dict[str, Any]:
    release_expired_reservations(buyer_id=user_id(request), limit=100)  # lazy expiry, as the API does
    rows = list(
        selectors.buyer_active_reservations(buyer_id=user_id(request)).select_related(
            "item__sku__product", "drop"
        )
    )
    total = sum(r.quantity * r.item.price for r in rows)
    currency = rows[0].item.currency if rows else "usd"
    needs_address = any(r.item.sku.product.ships_with_purchase for r in rows)
    return {
        "reservations": rows,
        "total": total,
        "currency": currency,
        "needs_address": needs_address,
        "address_form": address_form or ShippingAddressForm(),
    }


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


def _address_from_post(request: HttpRequest) -> tuple[ShippingAddress | None, ShippingAddressForm]:
    """The posted address, validated by the form and then by `commerce.addresses` (errors land on the form)."""
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return None, form
    try:
        return parse_shipping_address(dict(form.cleaned_data)), form
    except ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        for name, errors in detail.items():
            form.add_error(name if name in form.fields else None, [str(e) for e in errors])
        return None, form


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Turn the cart into an order awaiting payment (with the shipping address if something ships), then pay."""
    address = None
    if _cart_context(request)["needs_address"]:
        if "line1" not in request.POST:  # "Check out now" on a drop: ask for the address first
            messages.info(request, friendly("shipping_address_required"))
            return redirect(reverse("frontend:cart") + "#shipping")
        address, form = _address_from_post(request)
        if address is None:
            return render(request, "frontend/cart.html", _cart_context(request, form), status=400)
    try:
        order = place_order(buyer_id=user_id(request), shipping_address=address)
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
            # A declined card keeps the items held until then (the buyer may retry on this page).
            "hold_until": selectors.order_hold_until(order_id=order.pk),
            "stripe_js_url": "" if settings.PAYMENTS_DEMO_CONFIRM else settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )
