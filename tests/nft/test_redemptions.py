"""Phygital redemption on the real anvil: the current owner redeems once (custodial: we sign; linked: the
wallet signs, we verify the hash), `nft.redeemed` follows the final Redeemed log; the verify page reads
the chain. Refusals (not the owner, already redeemed, bad address, bad tx) change nothing."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from nft import contracts
from nft.chain import ChainClient
from nft.keys import anvil_account
from nft.models import ChainTransaction, Mint, MintStatus, Redemption, RedemptionStatus, Wallet, WalletKind
from nft.services.mints import request_mint, send_mint
from nft.services.redemptions import confirm_redemptions
from nft.services.transactions import rebroadcast_pending
from nft.services.wallets import custodial_wallet
from realtime.models import OutboxEvent
from tests.nft.helpers import is_redeemed, owner_of, send_as

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH",
           "country": "GB"}  # fmt: skip
PHYGITAL = {"name": "Sneaker #SNK-42-007", "serial": "SNK-42-007", "edition": 7, "edition_size": 100,
            "product_kind": "phygital", "product_id": 3, "sku_id": 9, "merchant_id": 1, "redeemable": True}  # fmt: skip


def _mint(collection: Any, confirm_until: Any, to: str, token_id: int, metadata: dict[str, Any]) -> None:
    mint = request_mint(
        order_id=95,
        line_id=token_id,
        collection=collection,
        to_address=to,
        token_id=token_id,
        metadata=metadata,
    )
    send_mint(mint_id=mint.pk)
    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)


def _api(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _body(collection: Any, token_id: int, **extra: Any) -> dict[str, Any]:
    return {"contract": collection.address, "token_id": str(token_id), "shipping_address": ADDRESS, **extra}


def _settle(confirm_until: Any, redemption_id: int) -> None:
    def settled() -> bool:
        rebroadcast_pending(older_than=0)  # a redeem refused before its gas top-up landed goes again
        confirm_redemptions()
        return Redemption.objects.get(pk=redemption_id).status != RedemptionStatus.SUBMITTED

    confirm_until(settled)


def _redeemed_events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(type="nft.redeemed").order_by("sequence"))


def test_custodial_owner_redeems_once_and_the_second_try_is_refused_without_a_transaction(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 2
    user = get_user_model().objects.create_user("holder", password="pw-123456789")
    wallet = custodial_wallet(user=user)
    _mint(collection, confirm_until, wallet.address, 9501, PHYGITAL)
    api = _api(user)
    page_url = f"/redeem/{collection.chain_id}/{collection.address}/9501"
    assert APIClient().get(page_url).status_code == 302  # log in first
    web = APIClient()
    web.force_login(user)
    assert 'id="redeem"' in web.get(page_url).content.decode()  # the address form

    response = api.post("/api/v1/nft/redemptions", _body(collection, 9501), format="json")
    assert response.status_code == 202, response.content
    started = response.json()
    assert (
        started["status"] == "submitted"
        and started["wallet_kind"] == "custodial"
        and "transaction" not in started
    )
    _settle(confirm_until, started["id"])

    assert is_redeemed(chain, collection, 9501) is True  # eth_call on the contract
    (event,) = _redeemed_events()
    assert event.aggregateid == f"redemption-{started['id']}"
    assert event.payload["owner_user_id"] == user.pk and event.payload["owner_address"] == wallet.address
    assert event.payload["shipping_address"]["country"] == "GB" and event.payload["product_id"] == 3
    assert event.payload["tx_hash"] == started["tx_hash"]
    assert api.get(f"/api/v1/nft/redemptions/{started['id']}").json()["status"] == "confirmed"
    meta = APIClient().get(f"/nft/metadata/{collection.chain_id}/{collection.address}/9501").json()
    attributes = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert attributes["Redeemed"] == "Yes" and attributes["Edition"] == "7 of 100"

    txs_before = ChainTransaction.objects.count()
    again = api.post("/api/v1/nft/redemptions", _body(collection, 9501), format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_redeemed"
    assert ChainTransaction.objects.count() == txs_before  # no transaction signed or sent
    assert Redemption.objects.count() == 1 and len(_redeemed_events()) == 1

    assert "already redeemed" in web.get(page_url).content.decode()
    page = APIClient().get(f"/verify/{collection.chain_id}/{collection.address}/9501")
    assert page.status_code == 200
    html = page.content.decode()
    assert wallet.address in html and "SNK-42-007" in html and "Redeemed" in html and "7 of 100" in html


def test_after_a_transfer_only_the_new_owner_redeems_by_signing_in_their_wallet(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 2
    first, second = anvil_account(3), anvil_account(4)
    seller = get_user_model().objects.create_user("seller", password="pw-123456789")
    buyer = get_user_model().objects.create_user("buyer", password="pw-123456789")
    Wallet.objects.create(user=seller, address=first.address, kind=WalletKind.LINKED)
    Wallet.objects.create(user=buyer, address=second.address, kind=WalletKind.LINKED)
    _mint(collection, confirm_until, first.address, 9502, PHYGITAL)
    transfer = contracts.transfer_call(sender=first.address, to=second.address, token_id=9502)
    transfer_receipt = send_as(chain, first, collection.address, transfer)
    assert transfer_receipt["status"] == 1 and owner_of(chain, collection, 9502) == second.address

    refused = _api(seller).post("/api/v1/nft/redemptions", _body(collection, 9502), format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_token_owner"
    assert not Redemption.objects.exists()

    api = _api(buyer)
    started = api.post("/api/v1/nft/redemptions", _body(collection, 9502), format="json")
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["status"] == "awaiting_signature" and body["transaction"]["to"] == collection.address
    url = f"/api/v1/nft/redemptions/{body['id']}/tx"

    # A hash that is not this token's redeem (the transfer) is refused; nothing changes.
    wrong = api.post(url, {"tx_hash": transfer_receipt["transactionHash"]}, format="json")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "redemption_tx_invalid"
    assert Redemption.objects.get(pk=body["id"]).status == RedemptionStatus.AWAITING_SIGNATURE

    # The browser wallet signs exactly the call it was given.
    receipt = send_as(
        chain, second, body["transaction"]["to"], bytes.fromhex(body["transaction"]["data"][2:])
    )
    assert receipt["status"] == 1
    posted = api.post(url, {"tx_hash": receipt["transactionHash"]}, format="json")
    assert posted.status_code == 202 and posted.json()["status"] == "submitted", posted.content
    assert (
        api.post(url, {"tx_hash": receipt["transactionHash"]}, format="json").status_code == 202
    )  # same again
    _settle(confirm_until, body["id"])

    assert Redemption.objects.get(pk=body["id"]).status == RedemptionStatus.CONFIRMED
    assert is_redeemed(chain, collection, 9502) is True
    (event,) = _redeemed_events()
    assert event.payload["owner_user_id"] == buyer.pk and event.payload["owner_address"] == second.address
    again = api.post("/api/v1/nft/redemptions", _body(collection, 9502), format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_redeemed"


def test_bad_requests_are_refused_and_change_nothing(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 1
    holder = anvil_account(3)
    user = get_user_model().objects.create_user("someone", password="pw-123456789")
    Wallet.objects.create(user=user, address=holder.address, kind=WalletKind.LINKED)
    _mint(collection, confirm_until, holder.address, 9503, PHYGITAL)
    digital = {"name": "Jacket #1", "product_kind": "digital", "product_id": 4, "redeemable": False}
    _mint(collection, confirm_until, holder.address, 9504, digital)
    api = _api(user)
    txs_before = ChainTransaction.objects.count()

    bad_address = api.post(
        "/api/v1/nft/redemptions",
        _body(collection, 9503, shipping_address={**ADDRESS, "country": "XX"}),
        format="json",
    )
    assert bad_address.status_code == 400 and "country" in bad_address.json()["error"]["details"]
    not_an_object = api.post(
        "/api/v1/nft/redemptions", _body(collection, 9503, shipping_address="x"), format="json"
    )
    assert not_an_object.status_code == 400 and not_an_object.json()["error"]["code"] == "validation_error"
    unknown = api.post("/api/v1/nft/redemptions", _body(collection, 777_777), format="json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "token_not_found"
    not_phygital = api.post("/api/v1/nft/redemptions", _body(collection, 9504), format="json")
    assert not_phygital.status_code == 409 and not_phygital.json()["error"]["code"] == "not_redeemable"
    assert APIClient().post(
        "/api/v1/nft/redemptions", _body(collection, 9503), format="json"
    ).status_code in (
        401,
        403,
    )
    assert api.get("/api/v1/nft/redemptions/999999").status_code == 404
    assert not Redemption.objects.exists() and ChainTransaction.objects.count() == txs_before
    assert is_redeemed(chain, collection, 9503) is False

    web = APIClient()
    assert web.get(f"/verify/{collection.chain_id}/{collection.address}/777777").status_code == 404
    assert web.get(f"/verify/{collection.chain_id}/not-a-contract/1").status_code == 404
    assert web.get(f"/verify/{collection.chain_id}/{collection.address}/abc").status_code == 404
    assert (
        "Not redeemed" in web.get(f"/verify/{collection.chain_id}/{collection.address}/9503").content.decode()
    )
    assert (
        "Not redeemable"
        in web.get(f"/verify/{collection.chain_id}/{collection.address}/9504").content.decode()
    )


def test_two_concurrent_redeems_of_one_custodial_token_sign_one_transaction(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    import threading

    from django.db import connection

    settings.CHAIN_CONFIRMATIONS = 1
    user = get_user_model().objects.create_user("racer", password="pw-123456789")
    wallet = custodial_wallet(user=user)
    _mint(collection, confirm_until, wallet.address, 9505, PHYGITAL)
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def redeem() -> None:
        try:
            barrier.wait(timeout=30)
            codes.append(
                _api(user).post("/api/v1/nft/redemptions", _body(collection, 9505), format="json").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [202, 409]
    assert Redemption.objects.count() == 1
    assert ChainTransaction.objects.filter(kind="redeem").count() == 1
    _settle(confirm_until, Redemption.objects.get().pk)
    assert is_redeemed(chain, collection, 9505) is True and len(_redeemed_events()) == 1


def test_a_wallet_signed_redeem_dropped_by_a_reorg_is_sent_again_and_confirmed_once(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    from tests.nft.conftest import mine

    settings.CHAIN_CONFIRMATIONS = 3
    holder = anvil_account(3)
    user = get_user_model().objects.create_user("reorged", password="pw-123456789")
    Wallet.objects.create(user=user, address=holder.address, kind=WalletKind.LINKED)
    _mint(collection, confirm_until, holder.address, 9506, PHYGITAL)
    api = _api(user)
    body = api.post("/api/v1/nft/redemptions", _body(collection, 9506), format="json").json()
    receipt = send_as(chain, holder, collection.address, contracts.redeem_call(9506))
    posted = api.post(
        f"/api/v1/nft/redemptions/{body['id']}/tx", {"tx_hash": receipt["transactionHash"]}, format="json"
    )
    assert posted.status_code == 202, posted.content
    assert confirm_redemptions() == []  # one block deep: not final yet

    chain.rpc("anvil_reorg", [chain.block_number() - receipt["blockNumber"] + 1, []])
    assert (
        chain.get_receipt(receipt["transactionHash"]) is None
        and is_redeemed(chain, collection, 9506) is False
    )

    assert confirm_redemptions() == []  # no receipt: the stored signed bytes are sent again
    mine(chain, 1)  # (a node that still had them in its pool answers "known" and mines them now)
    assert chain.get_receipt(receipt["transactionHash"]) is not None
    mine(chain, 3)
    assert confirm_redemptions() == [body["id"]]
    assert Redemption.objects.get(pk=body["id"]).status == RedemptionStatus.CONFIRMED
    assert is_redeemed(chain, collection, 9506) is True and len(_redeemed_events()) == 1
