"""Custodial wallets, claims, the explorer API, token metadata and the Kafka handler (real anvil)."""

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from nft.chain import ChainClient
from nft.contracts import BUILD_DIR
from nft.handlers import on_mint_requested
from nft.models import Claim, ClaimStatus, Mint, MintStatus, Wallet, WalletKind
from nft.services.mints import send_mint
from nft.services.wallets import custodial_wallet, receiving_address
from realtime.events import Event
from tests.nft.helpers import REPO, owner_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
LINKED = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _event(collection: Any, line_id: int, to: str, **extra: Any) -> Event:
    payload = {
        "order_id": 55,
        "line_id": line_id,
        "chain_id": collection.chain_id,
        "contract_address": collection.address,
        "token_id": str(line_id),
        "to_address": to,
        **extra,
    }
    return Event(type="nft.mint.requested", key="55", payload=payload)


def test_buyer_without_wallet_gets_nft_in_custody_then_claims_it_to_linked_wallet(
    chain: ChainClient, collection: Any, confirm_until: Any, monkeypatch: Any
) -> None:
    from nft import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.send_mint, "delay", queued.append)
    user = get_user_model().objects.create_user("buyer", password="pw-123456789")
    to = receiving_address(user=user)  # no linked wallet yet: a custodial one
    assert (
        Wallet.objects.get(user=user).kind == WalletKind.CUSTODIAL
        and to == custodial_wallet(user=user).address
    )
    event = _event(
        collection,
        6601,
        to,
        name="Aurora #1",
        image="https://img.example/1.png",
        animation_url="https://img.example/1.glb",
        drop_id=42,
        edition=1,
        serial="AUR-1",
    )
    for _ in range(2):  # delivered twice: one mint (the runner calls handlers inside its transaction)
        with transaction.atomic():
            on_mint_requested(event)
            assert queued == [] or len(queued) == 1, "the send is queued only after commit"
    mint = Mint.objects.get()
    assert queued == [mint.pk, mint.pk]
    send_mint(mint_id=mint.pk)
    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)
    assert owner_of(chain, collection, 6601) == to

    api = APIClient()
    meta = api.get(f"/nft/metadata/{collection.chain_id}/{collection.address}/6601").json()
    assert meta["name"] == "Aurora #1" and meta["animation_url"].endswith(".glb")
    assert {"trait_type": "Edition", "value": 1, "display_type": "number"} in meta["attributes"]
    assert {"trait_type": "Serial", "value": "AUR-1"} in meta["attributes"]
    assert {"trait_type": "Drop", "value": 42} in meta["attributes"]
    assert api.get(f"/nft/metadata/{collection.chain_id}/{collection.address}/999").status_code == 404
    assert (
        api.get(f"/nft/metadata/{collection.chain_id}/not-an-address/1").json()["error"]["code"]
        == "invalid_address"
    )

    token = api.get(f"/api/v1/nft/tokens/{collection.chain_id}/{collection.address}/6601").json()
    assert token["owner"] == to and token["mint"]["status"] == "confirmed"
    assert token["token_uri"].endswith(f"/nft/metadata/{collection.chain_id}/{collection.address}/6601")
    tx = api.get(f"/api/v1/nft/transactions/{token['mint']['tx_hash']}").json()
    assert tx["status"] == "confirmed" and tx["confirmations"] >= 2
    assert api.get(f"/api/v1/nft/addresses/{to}/tokens").json()["tokens"][0]["token_id"] == "6601"
    assert int(api.get(f"/api/v1/nft/addresses/{to}/balance").json()["balance_wei"]) == chain.balance(to)
    assert int(api.get("/api/v1/nft/gas-price").json()["max_fee_per_gas"]) > 0
    assert api.get("/api/v1/nft/addresses/0x123/balance").status_code == 400

    Wallet.objects.create(user=user, address=LINKED, kind=WalletKind.LINKED)  # as SIWE would
    api.force_authenticate(user)
    claim_body = {"contract": collection.address, "token_id": "6601"}
    response = api.post("/api/v1/nft/claims", claim_body, format="json")
    assert response.status_code == 202, response.content
    assert api.post("/api/v1/nft/claims", claim_body, format="json").status_code == 409  # one at a time
    claim = Claim.objects.get()
    confirm_until(lambda: Claim.objects.get(pk=claim.pk).status == ClaimStatus.CONFIRMED)
    assert owner_of(chain, collection, 6601) == LINKED
    confirm_until(
        lambda: (
            api.get(f"/api/v1/nft/tokens/{collection.chain_id}/{collection.address}/6601").json()["owner"]
            == LINKED
        )
    )


def test_claim_of_someone_elses_token_is_refused(chain: ChainClient, collection: Any) -> None:
    user = get_user_model().objects.create_user("other", password="pw-123456789")
    custodial_wallet(user=user)
    Wallet.objects.create(user=user, address=LINKED, kind=WalletKind.LINKED)
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(
        "/api/v1/nft/claims", {"contract": collection.address, "token_id": "1"}, format="json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "token_not_found"
    assert not Claim.objects.exists()


def test_contract_recompiles_to_the_committed_bytes() -> None:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            ["node", str(REPO / "nft/contracts/compile.js"), "--out-dir", out],
            check=True,
            capture_output=True,
            timeout=300,
        )
        fresh = json.loads((Path(out) / "MintdropCollection.json").read_text())
    committed = json.loads((BUILD_DIR / "MintdropCollection.json").read_text())
    assert fresh["compiler"]["version"].startswith("0.8.37+")
    assert (
        fresh["bytecode"] == committed["bytecode"]
        and fresh["deployedBytecode"] == committed["deployedBytecode"]
    )
    assert fresh["abi"] == committed["abi"]


def test_deployed_collection_has_minter_role_royalty_and_base_uri(
    chain: ChainClient, collection: Any
) -> None:
    from nft import contracts

    assert contracts.decode_one(
        "bool",
        chain.call(collection.address, contracts.has_role_call(contracts.MINTER_ROLE, collection.deployer)),
    )
    data = chain.call(collection.address, contracts.royalty_info_call(1, 10_000))
    from eth_abi import decode

    receiver, amount = decode(["address", "uint256"], data)
    assert amount == 500 and receiver.lower() == collection.royalty_receiver.lower()
    assert collection.base_uri.endswith(f"/nft/metadata/{collection.chain_id}/{collection.address}/")
