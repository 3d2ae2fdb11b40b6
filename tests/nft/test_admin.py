"""Admin of the chain layer: every changelist and change page renders for a superuser, and the
actions call through to the services (real anvil and PostgreSQL)."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from nft.models import ChainTransaction, Claim, Mint, MintStatus, SenderAccount, TxKind, TxStatus
from nft.services.fees import suggest_fees
from nft.services.locks import lock_sender
from nft.services.mints import request_mint, send_mint
from nft.services.senders import allocate_nonce
from nft.services.signing import sign_and_store
from nft.services.wallets import custodial_wallet
from tests.nft.helpers import BUYER

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator() -> Client:
    user = User.objects.create_superuser("nft-operator", "op@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def minted(collection: Any) -> Mint:
    mint = request_mint(order_id=77, line_id=7701, collection=collection, to_address=BUYER, token_id=7701)
    return send_mint(mint_id=mint.pk)


def _url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _act(client: Client, model: type[Model], action: str, pks: list[int]) -> str:
    response = client.post(
        _url(model, "changelist"), {"action": action, "_selected_action": pks}, follow=True
    )
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def test_every_nft_admin_page_renders(operator: Client, minted: Mint, collection: Any) -> None:
    buyer = User.objects.create_user("nft-buyer", "b@example.com", "pw")
    wallet = custodial_wallet(user=buyer)
    claim = Claim.objects.create(
        user=buyer, collection=collection, token_id=7701, from_address=wallet.address, to_address=BUYER
    )
    tx = ChainTransaction.objects.get(mint=minted)
    rows: list[Model] = [minted, tx, tx.sender, collection, wallet, claim]
    for row in rows:
        model = type(row)
        listing = operator.get(_url(model, "changelist"))
        assert listing.status_code == 200, model
        page = operator.get(_url(model, "change", row.pk))
        assert page.status_code == 200, model
        assert operator.get(_url(model, "add")).status_code == 403, model  # read-only
    mint_page = operator.get(_url(Mint, "change", minted.pk)).content.decode()
    assert tx.tx_hash in mint_page  # the current transaction and the inline of its signatures


def test_send_mint_action_signs_and_sends_through_the_service(operator: Client, collection: Any) -> None:
    mint = request_mint(order_id=78, line_id=7801, collection=collection, to_address=BUYER, token_id=7801)
    messages = _act(operator, Mint, "send_selected", [mint.pk])
    assert "Send mint: 1 done" in messages
    mint.refresh_from_db()
    assert mint.status == MintStatus.SUBMITTED and mint.current_tx is not None
    assert mint.current_tx.status == TxStatus.SUBMITTED


def test_resend_and_bump_actions_call_the_transaction_manager(operator: Client, minted: Mint) -> None:
    tx = ChainTransaction.objects.get(mint=minted)
    before = tx.send_attempts
    assert "Re-send: 1 done" in _act(operator, ChainTransaction, "resend_selected", [tx.pk])
    tx.refresh_from_db()
    assert tx.send_attempts == before + 1  # the same stored bytes went to the node again

    assert "Bump fees: 1 done" in _act(operator, ChainTransaction, "bump_fees_selected", [tx.pk])
    tx.refresh_from_db()
    replacement = ChainTransaction.objects.get(replaces=tx)
    assert tx.status == TxStatus.REPLACED and replacement.nonce == tx.nonce
    assert replacement.max_fee_per_gas * 8 >= tx.max_fee_per_gas * 9  # >= 12.5 % more
    assert Mint.objects.get(pk=minted.pk).current_tx_id == replacement.pk


def test_heal_action_calls_nonce_healing(operator: Client, minted: Mint) -> None:
    sender = SenderAccount.objects.get(transactions__mint=minted)
    assert "Heal nonces: 1 done" in _act(operator, SenderAccount, "heal_selected", [sender.pk])


def test_claim_resend_action_sends_the_claims_stored_transactions(
    operator: Client, collection: Any, minted: Mint
) -> None:
    buyer = User.objects.create_user("nft-claimer", "c@example.com", "pw")
    wallet = custodial_wallet(user=buyer)
    claim = Claim.objects.create(
        user=buyer, collection=collection, token_id=1, from_address=wallet.address, to_address=BUYER
    )
    # A gas top-up of the claim, signed and stored but never sent (its worker died).
    with transaction.atomic():
        sender = lock_sender(SenderAccount.objects.get(transactions__mint=minted).pk)
        top_up = sign_and_store(
            sender=sender,
            nonce=allocate_nonce(sender),
            kind=TxKind.FUND,
            to_address=wallet.address,
            data=b"",
            value=1,
            gas_limit=21_000,
            fees=suggest_fees(),
            claim_id=claim.pk,
        )
    assert "Re-send claim: 1 done" in _act(operator, Claim, "resend_selected", [claim.pk])
    top_up.refresh_from_db()
    assert top_up.status == TxStatus.SUBMITTED and top_up.send_attempts == 1
