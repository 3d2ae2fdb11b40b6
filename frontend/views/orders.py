"""My orders (live status over the WebSocket) and my NFTs (from the Transfer indexer), with claims."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from commerce import selectors
from commerce.carriers import CARRIERS
from config.errors import ApplicationError
from frontend import selectors as pages
from frontend.messages import friendly
from frontend.views import user_id
from nft import selectors as chain
from nft.activity_selectors import feeds_of
from nft.models import Mint, WalletKind
from nft.services import wallets
from nft.services.mints import get_collection
from realtime.ws.snapshots import order_snapshot


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    orders = selectors.buyer_orders(buyer_id=user_id(request))[:100]
    return render(request, "frontend/orders.html", {"orders": orders})


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.buyer_orders(buyer_id=user_id(request)).filter(pk=pk).first()
    if order is None:
        raise Http404("no such order")
    shipments = [
        {
            "shipment_id": s.pk,
            "state": s.status,
            "line_ids": [row["line_id"] for row in s.pick_list if row.get("line_id")],
            "carrier": s.carrier,
            "carrier_name": CARRIERS[s.carrier].name if s.carrier in CARRIERS else s.carrier,
            "tracking_number": s.tracking_number,
            "tracking_url": s.tracking_url,
            "reason": s.cancel_reason,
        }
        for s in order.shipments.all()
    ]
    return render(
        request,
        "frontend/order.html",
        {
            "order": order,
            "snapshot": order_snapshot(order_id=order.pk),
            "shipments": shipments,
            "carriers": {c.code: c.name for c in CARRIERS.values()},
            "ships": any(line.ships for line in order.lines.all()),
            "chain_label": pages.chain_label(),
        },
    )


def _nfts(user: Any) -> dict[str, Any]:
    """Tokens the indexer says the user's wallets hold, with the metadata they were minted with."""
    user_wallets = chain.wallets_of(user=user)
    tokens: list[dict[str, Any]] = []
    for wallet in user_wallets:
        for token in chain.tokens_of_owner(address=wallet.address):
            tokens.append(
                {**token, "wallet": wallet.address, "custodial": wallet.kind == WalletKind.CUSTODIAL}
            )
    metas = {
        (m.collection.address, str(int(m.token_id))): m
        for m in Mint.objects.select_related("collection", "current_tx").filter(
            to_address__in=[w.address for w in user_wallets]
        )
    }
    for token in tokens:
        mint = metas.get((token["contract"], token["token_id"]))
        token["name"] = (mint.metadata.get("name") if mint else "") or f"Token #{token['token_id']}"
        token["image"] = mint.metadata.get("image", "") if mint else ""
        token["animation_url"] = mint.metadata.get("animation_url", "") if mint else ""
        token["order_id"] = mint.order_id if mint else None
    linked = [w for w in user_wallets if w.kind == WalletKind.LINKED]
    activity = feeds_of(wallets=user_wallets)  # transfers and approvals the wallet watcher recorded
    return {"tokens": tokens, "wallets": user_wallets, "linked": linked, "activity": activity}


@login_required
def nft_list(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/nfts.html", _nfts(request.user))


@login_required
@require_POST
def nft_claim(request: HttpRequest) -> HttpResponse:
    """Move a token from the custodial wallet to the linked wallet (htmx swaps the result in place)."""
    ctx: dict[str, Any] = {"ok": False, "message": ""}
    try:
        token_id = int(request.POST.get("token_id", ""))
        claim = wallets.claim_token(
            user=request.user,
            collection=get_collection(
                chain_id=int(request.POST.get("chain_id", "0")), address=request.POST.get("contract", "")
            ),
            token_id=token_id,
            to_address=request.POST.get("to_address") or None,
        )
        ctx.update(ok=True, message=f"Claim sent to {claim.to_address}. It lands after a few blocks.")
    except ApplicationError as exc:
        ctx["message"] = friendly(exc.code, exc.message)
    except ValueError:
        ctx["message"] = friendly("validation_error")
    return render(request, "frontend/partials/claim_result.html", ctx, status=200 if ctx["ok"] else 422)


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    """Wallets of the user; link one with Sign-In with Ethereum (the page JS talks to the SIWE API)."""
    wallets.custodial_wallet(user=request.user)  # so a new shopper sees where NFTs land
    return render(request, "frontend/wallet.html", {"wallets": chain.wallets_of(user=request.user)})
