"""The collection contract's redemption on the real anvil: owner or approved only, once, logged."""

from typing import Any

import pytest

from nft import contracts
from nft.chain import ChainClient
from nft.errors import CallReverted
from nft.keys import anvil_account
from nft.models import Mint, MintStatus
from nft.services.mints import request_mint, send_mint
from tests.nft.helpers import is_redeemed, send_as

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _mint_to(collection: Any, confirm_until: Any, owner: str, token_id: int) -> None:
    mint = request_mint(
        order_id=90, line_id=token_id, collection=collection, to_address=owner, token_id=token_id
    )
    send_mint(mint_id=mint.pk)
    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)


def test_only_the_owner_or_approved_redeems_once(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 1
    holder, stranger = anvil_account(3), anvil_account(4)
    _mint_to(collection, confirm_until, holder.address, 9301)
    assert is_redeemed(chain, collection, 9301) is False

    refused = send_as(chain, stranger, collection.address, contracts.redeem_call(9301))
    assert refused["status"] == 0 and is_redeemed(chain, collection, 9301) is False

    receipt = send_as(chain, holder, collection.address, contracts.redeem_call(9301))
    assert receipt["status"] == 1 and is_redeemed(chain, collection, 9301) is True
    logs = chain.get_logs(
        {
            "fromBlock": receipt["blockNumber"],
            "toBlock": receipt["blockNumber"],
            "address": collection.address,
            "topics": [contracts.REDEEMED_TOPIC],
        }
    )
    assert len(logs) == 1
    assert contracts.topic_uint(logs[0]["topics"][1]) == 9301
    assert contracts.topic_address(logs[0]["topics"][2]) == holder.address

    again = send_as(chain, holder, collection.address, contracts.redeem_call(9301))
    assert again["status"] == 0 and is_redeemed(chain, collection, 9301) is True


def test_an_approved_address_redeems_for_the_owner_and_unknown_tokens_revert(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 1
    holder, operator = anvil_account(3), anvil_account(4)
    _mint_to(collection, confirm_until, holder.address, 9302)
    approve = bytes.fromhex("095ea7b3") + contracts.encode(["address", "uint256"], [operator.address, 9302])
    assert send_as(chain, holder, collection.address, approve)["status"] == 1
    assert send_as(chain, operator, collection.address, contracts.redeem_call(9302))["status"] == 1
    assert is_redeemed(chain, collection, 9302) is True
    with pytest.raises(CallReverted):
        is_redeemed(chain, collection, 999_999)  # no such token: the view reverts


def test_with_the_finalized_setting_a_mint_confirms_when_its_block_is_finalized_not_at_n(
    chain: ChainClient, collection: Any, settings: Any
) -> None:
    from nft.services.confirmer import confirm_blocks
    from tests.nft.conftest import mine

    settings.CHAIN_CONFIRMATIONS = 2
    settings.CHAIN_FINALITY = "finalized"
    mint = request_mint(order_id=93, line_id=9303, collection=collection, to_address=anvil_account(3).address,
                        token_id=9303)  # fmt: skip
    send_mint(mint_id=mint.pk)
    tx_block = int(chain.get_receipt(Mint.objects.get(pk=mint.pk).current_tx.tx_hash)["blockNumber"])  # type: ignore[union-attr,index]
    mine(chain, 4)
    confirm_blocks()
    assert Mint.objects.get(pk=mint.pk).status == MintStatus.SUBMITTED  # 5 deep: enough for N=2, not final
    finalized = chain.get_block("finalized")
    assert finalized is not None and int(finalized["number"]) < tx_block
    while int(chain.get_block("finalized")["number"]) < tx_block:  # type: ignore[index]
        mine(chain, 8)
    for _ in range(5):  # the confirmer may need a few rounds to catch up with the blocks mined above
        confirm_blocks()
    assert Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED
