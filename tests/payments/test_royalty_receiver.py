"""ERC-2981 royalties follow the merchant's payout address (issue #22 item 5), on a real anvil: set at
deploy, changed by an owner with an on-chain setDefaultRoyalty; staff cannot change it."""

from typing import Any

import pytest
from eth_abi import decode
from eth_utils import to_checksum_address

from commerce.models import MerchantRole
from commerce.services import catalog
from nft import contracts
from nft.chain import client as chain_client
from nft.keys import anvil_account
from nft.models import ChainTransaction, Collection
from tests.commerce.conftest import client_for
from tests.payments.helpers import outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _royalty(address: str, price: int = 10_000) -> tuple[str, int]:
    receiver, amount = decode(
        ["address", "uint256"], chain_client().call(address, contracts.royalty_info_call(1, price))
    )
    return to_checksum_address(receiver), int(amount)


def test_owner_changes_the_royalty_receiver_on_chain(merchant_nft_shop: dict[str, Any]) -> None:
    shop = merchant_nft_shop
    merchant, onchain = shop["merchant"], shop["onchain"]
    assert _royalty(onchain.address) == (shop["payout"], 750)  # set at deploy

    staff = catalog.add_member(
        merchant_id=merchant.pk,
        user=type(merchant.memberships.get().user).objects.create_user("staffer"),
        role=MerchantRole.STAFF,
    ).user
    new_payout = anvil_account(7).address
    url = f"/api/v1/merchants/{merchant.pk}/"
    refused = client_for(staff).patch(url, {"payout_address": new_payout, "royalty_bps": 500}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "owner_required"
    assert _royalty(onchain.address) == (shop["payout"], 750)

    owner = merchant.memberships.get(role=MerchantRole.OWNER).user
    changed = client_for(owner).patch(
        url, {"payout_address": new_payout.lower(), "royalty_bps": 500}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["payout_address"] == new_payout
    assert _royalty(onchain.address) == (new_payout, 500)
    (event,) = outbox("merchant.royalty_receiver_changed", key=merchant.pk)
    (tx_hash,) = event.payload["tx_hashes"]
    tx = ChainTransaction.objects.get(tx_hash=tx_hash)
    assert tx.kind == "royalty" and tx.to_address.lower() == onchain.address.lower()
    receipt = chain_client().get_receipt(tx_hash)
    assert receipt is not None and int(receipt["status"]) == 1
    assert Collection.objects.get(pk=onchain.pk).royalty_receiver == new_payout

    # Saving the same settings again sends no transaction.
    again = client_for(owner).patch(url, {"payout_address": new_payout, "royalty_bps": 500}, format="json")
    assert again.status_code == 200
    assert outbox("merchant.royalty_receiver_changed", key=merchant.pk)[-1].payload["tx_hashes"] == []
    assert ChainTransaction.objects.filter(kind="royalty").count() == 1
