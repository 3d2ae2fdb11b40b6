"""Merchant console (members of the merchant only): overview, products and drops CRUD, live room."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from commerce import selectors
from commerce.errors import NotFound
from commerce.models import Merchant, MerchantMembership, MerchantRole, Sku
from commerce.services import catalog, drops
from commerce.shows.models import Show, ShowState
from config.errors import ApplicationError
from frontend import selectors as pages
from frontend.forms import DropForm, ProductForm
from frontend.messages import friendly
from frontend.views import user_id


def _merchant(request: HttpRequest, merchant_id: int) -> Merchant:
    try:
        return selectors.merchant_for_member(user=request.user, merchant_id=merchant_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404("not a member of this merchant") from None


def _is_owner(request: HttpRequest, merchant: Merchant) -> bool:
    """Whether the signed-in member is an owner (refunds, payouts, team and collections are theirs)."""
    return MerchantMembership.objects.filter(
        merchant=merchant, user_id=user_id(request), role=MerchantRole.OWNER
    ).exists()


@login_required
def console_home(request: HttpRequest) -> HttpResponse:
    """Straight to the user's merchant, or a picker when they work for several (or none)."""
    memberships = list(
        MerchantMembership.objects.filter(user_id=user_id(request))
        .select_related("merchant")
        .order_by("merchant_id")
    )
    if len(memberships) == 1:
        return redirect("frontend:console", merchant_id=memberships[0].merchant_id)
    return render(
        request,
        "frontend/console/pick.html",
        {"memberships": memberships},
        status=200 if memberships else 403,
    )


@login_required
def console(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    return render(
        request,
        "frontend/console/index.html",
        {
            "merchant": merchant,
            "drops": selectors.merchant_drops(merchant_id=merchant.pk).order_by("-starts_at")[:50],
            "products": selectors.merchant_products(merchant_id=merchant.pk).order_by("-pk")[:100],
            "to_ship": selectors.merchant_shipments(merchant_id=merchant.pk, status="pending").count(),
            "shows": Show.objects.filter(merchant=merchant)
            .exclude(state=ShowState.ENDED)
            .order_by("scheduled_at")[:10],
        },
    )


def _collections(merchant: Merchant) -> list[tuple[int, str]]:
    return [
        (c.pk, f"{c.name} ({c.contract_address[:10]}…)")
        for c in selectors.merchant_collections(merchant_id=merchant.pk)
    ]


@login_required
def product_form(request: HttpRequest, merchant_id: int, pk: int | None = None) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    product = None
    initial: dict[str, Any] = {"is_active": True}
    if pk is not None:
        product = selectors.merchant_products(merchant_id=merchant.pk).filter(pk=pk).first()
        if product is None:
            raise Http404("no such product")
        media = pages.media_of(product)
        initial = {
            "kind": product.kind,
            "title": product.title,
            "description": product.description,
            "image_url": media["image"],
            "model_url": media["model"],
            "collection": product.collection_id,
            "phygital_delivery": product.phygital_delivery,
            "is_active": product.is_active,
        }
    form = ProductForm(
        request.POST or None, initial=initial, collections=_collections(merchant), editing=product is not None
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        media_urls = [u for u in (data.get("image_url"), data.get("model_url")) if u]
        try:
            if product is None:
                product = catalog.create_product(
                    merchant_id=merchant.pk,
                    kind=data["kind"],
                    title=data["title"],
                    description=data.get("description", ""),
                    media_urls=media_urls,
                    collection_id=data.get("collection"),
                    metadata_template=form.metadata(
                        {"name": data["title"] + " #{serial}"} if data["kind"] != "physical" else {}
                    ),
                    skus=[catalog.SkuSpec(**row) for row in form.skus()],
                    phygital_delivery=data["phygital_delivery"],
                )
                messages.success(request, f"Product “{product.title}” created.")
            else:
                catalog.update_product(
                    product_id=product.pk,
                    merchant_id=merchant.pk,
                    title=data["title"],
                    description=data.get("description", ""),
                    media_urls=media_urls,
                    metadata_template=form.metadata(product.metadata_template),
                    is_active=data.get("is_active", False),
                    phygital_delivery=data["phygital_delivery"],
                )
                messages.success(request, "Product saved.")
            return redirect("frontend:console", merchant_id=merchant.pk)
        except ApplicationError as exc:
            form.add_error(None, friendly(exc.code, exc.message))
    return render(
        request,
        "frontend/console/product_form.html",
        {"merchant": merchant, "form": form, "product": product},
    )


@login_required
def drop_form(request: HttpRequest, merchant_id: int, pk: int | None = None) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    drop = None
    initial: dict[str, Any] = {"per_buyer_limit": 2}
    if pk is not None:
        drop = selectors.merchant_drops(merchant_id=merchant.pk).filter(pk=pk).first()
        if drop is None:
            raise Http404("no such drop")
        initial = {
            "title": drop.title,
            "description": drop.description,
            "starts_at": drop.starts_at,
            "ends_at": drop.ends_at,
            "per_buyer_limit": drop.per_buyer_limit,
        }
    skus = list(
        Sku.objects.filter(product__merchant=merchant, is_active=True)
        .select_related("product")
        .order_by("pk")
    )
    form = DropForm(request.POST or None, initial=initial, skus=skus, editing=drop is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data.get(k) for k in ("title", "description", "starts_at", "ends_at", "per_buyer_limit")}
        try:
            if drop is None:
                drop = drops.create_drop(
                    merchant_id=merchant.pk,
                    items=[drops.DropItemSpec(**item) for item in form.items()],
                    **fields,  # type: ignore[arg-type]
                )
                messages.success(request, f"Drop “{drop.title}” scheduled.")
            else:
                drops.update_drop(drop_id=drop.pk, merchant_id=merchant.pk, **fields)
                messages.success(request, "Drop saved.")
            return redirect("frontend:console-room", merchant_id=merchant.pk, pk=drop.pk)
        except ApplicationError as exc:
            form.add_error(None, friendly(exc.code, exc.message))
    return render(
        request, "frontend/console/drop_form.html", {"merchant": merchant, "form": form, "drop": drop}
    )


@login_required
def live_room(request: HttpRequest, merchant_id: int, pk: int) -> HttpResponse:
    """Start/pause/resume/restock/end, live counters, stock per SKU and the sales chart."""
    merchant = _merchant(request, merchant_id)
    drop = selectors.merchant_drops(merchant_id=merchant.pk).filter(pk=pk).first()
    if drop is None:
        raise Http404("no such drop")
    return render(
        request,
        "frontend/console/room.html",
        {"merchant": merchant, "drop": drop, "sales": pages.sales_per_minute(drop_id=drop.pk)},
    )
