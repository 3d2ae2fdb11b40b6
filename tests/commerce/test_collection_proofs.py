"""Registering a collection needs proof of control on chain (real anvil): foreign contracts are refused.

Anvil accounts 11-14 are used only here (funded with anvil_setBalance): 11 = the platform signer of
this test, 12 = an outsider who deploys a contract of its own, 13 = a merchant's unrelated wallet,
14 = the owner of a minimal Ownable-like contract.
"""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from commerce.models import CollectionChallenge, NftCollection
from commerce.services import catalog
from nft import contracts
from nft.chain import ChainClient, client
from nft.keys import anvil_account
from tests.commerce.conftest import client_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PLATFORM, OUTSIDER, STRANGER, OWNABLE_OWNER = 11, 12, 13, 14


def _fund(chain: ChainClient, address: str) -> None:
    chain.rpc("anvil_setBalance", [address, hex(10**20)])


def _deploy_foreign(chain: ChainClient, deployer: LocalAccount) -> str:
    """A MintdropCollection deployed by `deployer` itself (admin and minter = deployer), not by us."""
    _fund(chain, deployer.address)
    nonce = chain.nonce(deployer.address, "pending")
    data = contracts.deploy_data(
        name="Outsider",
        symbol="OUT",
        base_uri="https://example.test/",
        admin=deployer.address,
        minter=deployer.address,
        royalty_receiver=deployer.address,
        royalty_bps=0,
    )
    fee = chain.base_fee()
    signed = deployer.sign_transaction(
        {
            "type": 2,
            "chainId": chain.chain_id(),
            "nonce": nonce,
            "gas": 3_000_000,
            "maxFeePerGas": fee * 2 + 10**9,
            "maxPriorityFeePerGas": 10**9,
            "value": 0,
            "data": data,
        }
    )
    assert chain.send_raw(bytes(signed.raw_transaction)).in_pool_or_chain
    tx_hash = "0x" + bytes(signed.hash).hex()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        receipt = chain.get_receipt(tx_hash)
        if receipt is not None:
            assert int(receipt["status"]) == 1
            return str(receipt["contractAddress"])
        time.sleep(0.1)
    raise AssertionError(f"deployment {tx_hash} not mined within 60 s")


def _ownable_stub(chain: ChainClient, owner: str, at: str) -> str:
    """Code at `at` that answers every call with `owner` as one word: `owner()` returns `owner`."""
    runtime = "0x73" + owner[2:].lower() + "60005260206000f3"  # PUSH20 owner, MSTORE at 0, RETURN 32 bytes
    chain.rpc("anvil_setCode", [at, runtime])
    return at


def _sign(account: LocalAccount, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


@pytest.fixture
def merchant_api(make_user: Callable[..., User]) -> dict[str, Any]:
    owner = make_user()
    merchant = catalog.create_merchant(name="Proof shop", slug="proof-shop", owner=owner)
    rival_owner = make_user()
    rival = catalog.create_merchant(name="Rival", slug="rival-shop", owner=rival_owner)
    return {
        "merchant": merchant,
        "api": client_for(owner),
        "rival": rival,
        "rival_api": client_for(rival_owner),
    }


def _challenge(api: Any, merchant_id: int, address: str) -> dict[str, Any]:
    response = api.post(
        f"/api/v1/merchants/{merchant_id}/collections/challenges/",
        {"chain_id": 31337, "contract_address": address},
        format="json",
    )
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def _register(api: Any, merchant_id: int, address: str, nonce: str, signature: str) -> Any:
    return api.post(
        f"/api/v1/merchants/{merchant_id}/collections/",
        {
            "name": "Mine",
            "symbol": "MINE",
            "chain_id": 31337,
            "contract_address": address,
            "nonce": nonce,
            "signature": signature,
        },
        format="json",
    )


def test_a_foreign_contract_is_refused_and_nothing_is_stored(merchant_api: dict[str, Any]) -> None:
    chain = client()
    outsider = anvil_account(OUTSIDER)
    foreign = _deploy_foreign(chain, outsider)
    merchant_id = merchant_api["merchant"].pk
    challenge = _challenge(merchant_api["api"], merchant_id, foreign)
    assert f"Contract: {foreign}" in challenge["message"]
    assert f"Merchant: {merchant_id}" in challenge["message"]

    # The merchant signs with a wallet of its own: not the contract's admin on chain.
    response = _register(
        merchant_api["api"],
        merchant_id,
        foreign,
        challenge["nonce"],
        _sign(anvil_account(STRANGER), challenge["message"]),
    )
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "ownership_not_proven"
    assert not NftCollection.objects.filter(contract_address__iexact=foreign).exists()

    # The challenge was spent by that attempt: even the real admin's signature cannot reuse it.
    response = _register(
        merchant_api["api"], merchant_id, foreign, challenge["nonce"], _sign(outsider, challenge["message"])
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "challenge_invalid"
    assert not NftCollection.objects.filter(contract_address__iexact=foreign).exists()


def test_the_admin_signature_registers_it_once(merchant_api: dict[str, Any]) -> None:
    chain = client()
    outsider = anvil_account(OUTSIDER)
    foreign = _deploy_foreign(chain, outsider)
    merchant_id = merchant_api["merchant"].pk
    challenge = _challenge(merchant_api["api"], merchant_id, foreign)
    response = _register(
        merchant_api["api"], merchant_id, foreign, challenge["nonce"], _sign(outsider, challenge["message"])
    )
    assert response.status_code == 201, response.content
    row = NftCollection.objects.get(contract_address=foreign)
    assert row.merchant_id == merchant_id
    # Another merchant cannot take the same contract afterwards, not even with a fresh challenge.
    response = merchant_api["rival_api"].post(
        f"/api/v1/merchants/{merchant_api['rival'].pk}/collections/challenges/",
        {"chain_id": 31337, "contract_address": foreign},
        format="json",
    )
    assert response.status_code == 422
    assert NftCollection.objects.filter(contract_address=foreign).count() == 1


def test_a_challenge_is_bound_to_its_merchant_and_contract(merchant_api: dict[str, Any]) -> None:
    chain = client()
    outsider = anvil_account(OUTSIDER)
    foreign = _deploy_foreign(chain, outsider)
    other = _deploy_foreign(chain, outsider)
    challenge = _challenge(merchant_api["rival_api"], merchant_api["rival"].pk, foreign)
    signature = _sign(outsider, challenge["message"])
    # The rival's challenge, used by another merchant or for another contract: refused.
    merchant_id = merchant_api["merchant"].pk
    response = _register(merchant_api["api"], merchant_id, foreign, challenge["nonce"], signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "challenge_invalid"
    response = _register(
        merchant_api["rival_api"], merchant_api["rival"].pk, other, challenge["nonce"], signature
    )
    assert response.status_code == 400
    # Expired: refused too.
    fresh = _challenge(merchant_api["api"], merchant_id, foreign)
    CollectionChallenge.objects.filter(nonce=fresh["nonce"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _register(
        merchant_api["api"], merchant_id, foreign, fresh["nonce"], _sign(outsider, fresh["message"])
    )
    assert response.status_code == 400
    assert not NftCollection.objects.filter(contract_address__in=[foreign, other]).exists()


def test_a_platform_collection_cannot_be_claimed_through_the_api(
    transactional_db: None, merchant_api: dict[str, Any], settings: Any
) -> None:
    """Collections the platform deploys have the platform key as admin: only deploy_merchant_collection
    registers them (for the merchant it deployed for); a merchant's own signature proves nothing."""
    from nft.services.collections import deploy_collection

    chain = client()
    platform = anvil_account(PLATFORM)
    _fund(chain, platform.address)
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(platform.key).hex()
    deployed = deploy_collection(name="Theirs", symbol="T", royalty_receiver=platform.address, royalty_bps=0)
    merchant_id = merchant_api["merchant"].pk
    challenge = _challenge(merchant_api["api"], merchant_id, deployed.address)
    response = _register(
        merchant_api["api"],
        merchant_id,
        deployed.address,
        challenge["nonce"],
        _sign(anvil_account(STRANGER), challenge["message"]),
    )
    assert response.status_code == 403
    assert not NftCollection.objects.filter(contract_address__iexact=deployed.address).exists()


def test_ownable_owner_proves_control_and_an_account_without_code_does_not(
    merchant_api: dict[str, Any],
) -> None:
    chain = client()
    owner = anvil_account(OWNABLE_OWNER)
    stub = _ownable_stub(chain, owner.address, "0x00000000000000000000000000000000000a11ce")
    merchant_id = merchant_api["merchant"].pk
    challenge = _challenge(merchant_api["api"], merchant_id, stub)
    bad = _register(
        merchant_api["api"],
        merchant_id,
        stub,
        challenge["nonce"],
        _sign(anvil_account(STRANGER), challenge["message"]),
    )
    assert bad.status_code == 403
    challenge = _challenge(merchant_api["api"], merchant_id, stub)
    good = _register(
        merchant_api["api"], merchant_id, stub, challenge["nonce"], _sign(owner, challenge["message"])
    )
    assert good.status_code == 201, good.content
    # An externally owned account (no code): its own key signing proves nothing.
    stranger = anvil_account(STRANGER)
    challenge = _challenge(merchant_api["api"], merchant_id, stranger.address)
    response = _register(
        merchant_api["api"],
        merchant_id,
        stranger.address,
        challenge["nonce"],
        _sign(stranger, challenge["message"]),
    )
    assert response.status_code == 403
    assert not NftCollection.objects.filter(contract_address__iexact=stranger.address).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("collections/challenges/", {"chain_id": 31337}, "contract_address"),
        ("collections/challenges/", {"chain_id": "x", "contract_address": "0x" + "ab" * 20}, "chain_id"),
        (
            "collections/challenges/",
            {"chain_id": 31337, "contract_address": "0x" + "ab" * 200},
            "contract_address",
        ),
        (
            "collections/challenges/",
            {"chain_id": 31337, "contract_address": ["0x" + "ab" * 20]},
            "contract_address",
        ),
        ("collections/", {"name": "n", "chain_id": 31337, "contract_address": "0x" + "ab" * 20}, "nonce"),
        (
            "collections/",
            {
                "name": "n" * 201,
                "chain_id": 31337,
                "contract_address": "0x" + "ab" * 20,
                "nonce": "0" * 32,
                "signature": "0x" + "1" * 130,
            },
            "name",
        ),
        (
            "collections/",
            {
                "name": "n",
                "chain_id": 31337,
                "contract_address": "0x" + "ab" * 20,
                "nonce": "0" * 32,
                "signature": 7,
            },
            "signature",
        ),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(
    merchant_api: dict[str, Any], path: str, body: dict[str, Any], field: str
) -> None:
    response = merchant_api["api"].post(
        f"/api/v1/merchants/{merchant_api['merchant'].pk}/{path}", body, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in str(error["details"])


def test_another_chain_is_refused(merchant_api: dict[str, Any]) -> None:
    response = merchant_api["api"].post(
        f"/api/v1/merchants/{merchant_api['merchant'].pk}/collections/challenges/",
        {"chain_id": 1, "contract_address": "0x" + "ab" * 20},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_catalog_data"
