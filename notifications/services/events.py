"""From an event to the notifications it causes: who is told, with what data.

One public function per event the `notify` consumer handles (called from notifications/handlers.py,
inside the consumer's transaction). Each reads what it needs from the database as it is now (the
order's lines and address, the store's name, the merchant's staff) and calls `record.notify()` once
per recipient. Dedupe keys are the event id, except where one business fact may be announced by
several events (a mint re-confirmed after a reorg, a refund reported by the webhook and by us):
there the key names the fact, so the buyer still gets one message.
"""

import logging
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from commerce.addresses import ShippingAddress
from commerce.models import Drop, MerchantMembership, Order, Sku
from notifications.money import format_money
from notifications.services.record import notify, site_url
from realtime.events import Event

log = logging.getLogger(__name__)
User = get_user_model()


def _order(order_id: int | None) -> Order | None:
    if order_id is None:
        return None
    return (
        Order.objects.select_related("merchant", "buyer", "drop")
        .prefetch_related("lines")
        .filter(pk=order_id)
        .first()
    )


def _shipping_address(order: Order) -> list[str]:
    """The address snapshot stored on the order at checkout, as label lines; [] if there is none.

    Read defensively: orders from before the address field (and orders of digital goods) have
    none, and a snapshot is printed through `commerce.addresses.ShippingAddress.lines()`.
    """
    snapshot = getattr(order, "shipping_address", None)
    if not isinstance(snapshot, dict) or not snapshot:
        return []
    known = {f.name for f in fields(ShippingAddress)}
    try:
        return ShippingAddress(**{k: str(v) for k, v in snapshot.items() if k in known and v}).lines()
    except TypeError:  # a required part is missing: print what there is
        return [str(v) for v in snapshot.values() if isinstance(v, str) and v]


def _order_context(order: Order) -> dict[str, Any]:
    lines = [
        {
            "title": line.title,
            "kind": line.kind,
            "quantity": line.quantity,
            "unit_price": format_money(line.unit_price, line.currency),
            "amount": format_money(line.unit_price * line.quantity, line.currency),
        }
        for line in order.lines.all()
    ]
    return {
        "order_id": order.pk,
        "store_name": order.merchant.name,
        "lines": lines,
        "total": format_money(order.total, order.currency),
        "currency": order.currency.upper(),
        "address_lines": _shipping_address(order),
        "order_url": site_url(f"/orders/{order.pk}/"),
        "drop_title": order.drop.title if order.drop else "",
    }


def _merchant_staff(merchant_id: int) -> list[Any]:
    ids = MerchantMembership.objects.filter(merchant_id=merchant_id).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=list(ids), is_active=True).order_by("pk"))


# --- buyers ------------------------------------------------------------------------------------------
def order_paid(event: Event) -> None:
    """The receipt: lines, totals, shipping address."""
    order = _order(event.payload["order_id"])
    if order is None:
        return
    ctx = _order_context(order)
    notify(
        user=order.buyer,
        kind_name="receipt",
        dedupe_key=f"receipt:{order.pk}",
        event_id=event.id,
        context=ctx,
        from_name=order.merchant.name,
        url=f"/orders/{order.pk}/",
        summary=f"{ctx['total']} paid for {len(ctx['lines'])} item(s).",
    )


def payment_failed(event: Event) -> None:
    order = _order(event.payload["order_id"])
    if order is None:
        return
    ctx = {
        **_order_context(order),
        "amount": format_money(event.payload["amount"], event.payload["currency"]),
        "failure_message": event.payload.get("failure_message", ""),
        "pay_url": site_url(f"/orders/{order.pk}/pay/"),
    }
    notify(
        user=order.buyer,
        kind_name="payment_failed",
        dedupe_key=str(event.id),
        event_id=event.id,
        context=ctx,
        from_name=order.merchant.name,
        url=f"/orders/{order.pk}/pay/",
        summary=ctx["failure_message"] or "Try again with another card.",
    )


def payment_refunded(event: Event) -> None:
    p = event.payload
    order = _order(p["order_id"])
    if order is None:
        return
    line_title = ""
    if p.get("line_id"):
        line = next((ln for ln in order.lines.all() if ln.pk == p["line_id"]), None)
        line_title = line.title if line else ""
    ctx = {
        **_order_context(order),
        "amount": format_money(p["amount"], p["currency"]),
        "line_title": line_title,
        "reason": p.get("reason", ""),
    }
    notify(
        user=order.buyer,
        kind_name="refunded",
        dedupe_key=f"refund:{p['refund_id']}",  # the webhook and our own call may both report it
        event_id=event.id,
        context=ctx,
        from_name=order.merchant.name,
        url=f"/orders/{order.pk}/",
        summary=f"{ctx['amount']} back to your card" + (f" for {line_title}" if line_title else "") + ".",
    )


def explorer_tx_url(*, chain_id: int, tx_hash: str) -> str:
    template = settings.EXPLORER_TX_URL
    if not template:
        return ""
    return template.replace("{chain_id}", str(chain_id)).replace("{tx_hash}", tx_hash)


def mint_confirmed(event: Event) -> None:
    """The minted e-mail: token, transaction, explorer link."""
    p = event.payload
    order = _order(p["order_id"])
    if order is None:
        return
    line = next((ln for ln in order.lines.all() if ln.pk == p["line_id"]), None)
    title = line.title if line else f"token #{p['token_id']}"
    ctx = {
        "order_id": order.pk,
        "store_name": order.merchant.name,
        "title": title,
        "token_id": p["token_id"],
        "contract_address": p["contract_address"],
        "chain_id": p["chain_id"],
        "to_address": p["to_address"],
        "tx_hash": p["tx_hash"],
        "block_number": p["block_number"],
        "confirmations": p["confirmations"],
        "explorer_url": explorer_tx_url(chain_id=p["chain_id"], tx_hash=p["tx_hash"]),
        "metadata_url": f"{settings.NFT_METADATA_BASE_URL.rstrip('/')}/{p['chain_id']}/{p['contract_address']}/{p['token_id']}",
        "order_url": site_url(f"/orders/{order.pk}/"),
    }
    notify(
        user=order.buyer,
        kind_name="minted",
        dedupe_key=f"minted:{p['line_id']}",  # a reorg re-confirms the same mint: one message
        event_id=event.id,
        context=ctx,
        from_name=order.merchant.name,
        url="/nfts/",
        summary=f"Token #{p['token_id']} is in {p['to_address']}.",
    )


def claim_completed(event: Event) -> None:
    p = event.payload
    user = User.objects.filter(pk=p["user_id"]).first()
    if user is None:
        return
    ok = p["outcome"] == "confirmed"
    ctx = {
        **p,
        "ok": ok,
        "outcome_word": "is complete" if ok else "failed",
        "explorer_url": explorer_tx_url(chain_id=p["chain_id"], tx_hash=p["tx_hash"]),
        "nfts_url": site_url("/nfts/"),
    }
    notify(
        user=user,
        kind_name="claim_completed",
        dedupe_key=f"claim:{p['claim_id']}",
        event_id=event.id,
        context=ctx,
        from_name=settings.NOTIFY_SITE_NAME,
        url="/nfts/",
        summary=f"Token #{p['token_id']} → {p['to_address']}" if ok else "The transfer reverted.",
    )


def _shipment_context(event: Event) -> tuple[Order | None, dict[str, Any]]:
    p = event.payload
    order = _order(p.get("order_id"))
    ctx: dict[str, Any] = {
        "shipment_id": p["shipment_id"],
        "order_id": p.get("order_id") or f"redemption {p.get('redemption_id')}",
        "carrier": p.get("carrier", ""),
        "tracking_number": p.get("tracking_number", ""),
        "tracking_url": p.get("tracking_url", ""),
    }
    if order is not None:
        ids = set(p.get("line_ids") or [])
        ctx.update(_order_context(order))
        ctx["lines"] = [
            {"title": ln.title, "quantity": ln.quantity}
            for ln in order.lines.all()
            if not ids or ln.pk in ids
        ]
    return order, ctx


def _buyer_and_store(event: Event, order: Order | None) -> tuple[Any, str]:
    if order is not None:
        return order.buyer, order.merchant.name
    from commerce.models import Merchant

    merchant = Merchant.objects.filter(pk=event.payload["merchant_id"]).first()
    return User.objects.filter(pk=event.payload["buyer_id"]).first(), (
        merchant.name if merchant else settings.NOTIFY_SITE_NAME
    )


def _notify_buyer_of_shipment(
    event: Event, *, kind_name: str, summary: Callable[[dict[str, Any]], str]
) -> None:
    order, ctx = _shipment_context(event)
    buyer, store = _buyer_and_store(event, order)
    if buyer is None:
        return
    ctx.setdefault("store_name", store)
    notify(
        user=buyer,
        kind_name=kind_name,
        dedupe_key=str(event.id),
        event_id=event.id,
        context=ctx,
        from_name=store,
        url=f"/orders/{order.pk}/" if order else "/orders/",
        summary=summary(ctx),
    )


def shipment_shipped(event: Event) -> None:
    _notify_buyer_of_shipment(
        event, kind_name="shipped", summary=lambda ctx: f"{ctx['carrier']} {ctx['tracking_number']}"
    )


def shipment_delivered(event: Event) -> None:
    _notify_buyer_of_shipment(event, kind_name="delivered", summary=lambda ctx: "Your parcel arrived.")


# --- wallets (h8's watcher) ---------------------------------------------------------------------------
def wallet_activity(event: Event) -> None:
    """Transfers in/out of a watched wallet; a warning for an approval of an operator we do not know."""
    p = event.payload
    if p.get("user_id") is None:
        return
    if p["kind"] == "approval_for_all":
        if p.get("operator_known", False):
            return  # our own marketplace/operator: nothing to warn about
        kind_name = "wallet_approval_warning"
    elif p["kind"] in ("transfer_in", "transfer_out"):
        kind_name = f"wallet_{p['kind']}"
    else:
        return  # approval_revoked: good news, no message
    user = User.objects.filter(pk=p["user_id"]).first()
    if user is None:
        return
    if p["token_standard"] == "erc20":
        asset = f"{p.get('amount') or '?'} units of token {p['contract'][:10]}…"
    else:
        asset = f"token #{p.get('token_id')}" + (" of our collection" if p.get("ours") else "")
    ctx = {
        **p,
        "asset": asset,
        "explorer_url": explorer_tx_url(chain_id=p["chain_id"], tx_hash=p["tx_hash"]),
        "wallet_url": site_url("/wallet/"),
    }
    notify(
        user=user,
        kind_name=kind_name,
        dedupe_key=f"wallet-activity:{p['chain_id']}:{p['tx_hash']}:{p['log_index']}:{p['wallet_address'].lower()}",
        event_id=event.id,
        context=ctx,
        from_name=settings.NOTIFY_SITE_NAME,
        url="/nfts/",
        summary=f"Counterparty {p['counterparty']}"
        if kind_name != "wallet_approval_warning"
        else f"Operator {p['counterparty']} may move all your tokens of {p['contract']}.",
    )


# --- merchants ---------------------------------------------------------------------------------------
def shipment_created(event: Event) -> None:
    """A new order (or redemption) for the merchant's staff to ship."""
    _, ctx = _shipment_context(event)
    from commerce.models import Merchant

    merchant = Merchant.objects.filter(pk=event.payload["merchant_id"]).first()
    if merchant is None:
        return
    ctx["store_name"] = merchant.name
    ctx["console_url"] = site_url(f"/console/{merchant.pk}/")
    for user in _merchant_staff(merchant.pk):
        notify(
            user=user,
            kind_name="merchant_new_order",
            dedupe_key=str(event.id),
            event_id=event.id,
            context=ctx,
            from_name=merchant.name,
            url=f"/console/{merchant.pk}/",
            summary=f"{len(ctx.get('lines', []))} line(s) to pack.",
        )


def sold_out(event: Event) -> None:
    p = event.payload
    drop = Drop.objects.select_related("merchant").filter(pk=p["drop_id"]).first()
    sku = Sku.objects.select_related("product").filter(pk=p["sku_id"]).first()
    if drop is None or sku is None:
        return
    ctx = {
        "store_name": drop.merchant.name,
        "drop_title": drop.title,
        "sku_title": f"{sku.product.title} {sku.name or sku.code}".strip(),
        "offered": p.get("offered"),
        "sold": p.get("sold"),
        "reserved": p.get("reserved"),
        "room_url": site_url(f"/console/{drop.merchant_id}/drops/{drop.pk}/live/"),
    }
    for user in _merchant_staff(drop.merchant_id):
        notify(
            user=user,
            kind_name="merchant_sold_out",
            dedupe_key=str(event.id),
            event_id=event.id,
            context=ctx,
            from_name=drop.merchant.name,
            url=f"/console/{drop.merchant_id}/drops/{drop.pk}/live/",
            summary=f"{ctx['sold']} sold, {ctx['reserved']} still in carts.",
        )


def show_state_changed(event: Event) -> None:
    p = event.payload
    if p["to_state"] != "live":
        return
    from commerce.shows.models import Show

    show = Show.objects.select_related("merchant").filter(pk=p["show_id"]).first()
    if show is None:
        return
    ctx = {
        "store_name": show.merchant.name,
        "show_title": show.title,
        "show_url": site_url(f"/shows/{show.pk}/"),
        "started_at": p.get("started_at") or "",
    }
    for user in _merchant_staff(show.merchant_id):
        notify(
            user=user,
            kind_name="merchant_show_live",
            dedupe_key=str(event.id),
            event_id=event.id,
            context=ctx,
            from_name=show.merchant.name,
            url=f"/shows/{show.pk}/",
            summary="Viewers can join now.",
        )
