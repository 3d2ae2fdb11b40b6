"""The "My NFTs" page lists each wallet's activity and warns about standing unknown approvals."""

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from nft.models import Wallet, WalletKind
from tests.nft.activity_factory import CONTRACT, STRANGER, activity

pytestmark = pytest.mark.django_db

LINKED = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
CUSTODIAL = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
OTHER_OPERATOR = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"


@pytest.fixture
def shopper() -> Any:
    return get_user_model().objects.create_user("nft-page", password="pw-123456789")


def _page(user: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("frontend:nfts"))
    assert response.status_code == 200
    return response.content.decode()


def test_feed_per_wallet_with_a_warning_only_for_unrevoked_unknown_approvals(shopper: Any) -> None:
    linked = Wallet.objects.create(user=shopper, address=LINKED, kind=WalletKind.LINKED)
    custodial = Wallet.objects.create(
        user=shopper, address=CUSTODIAL, kind=WalletKind.CUSTODIAL, derivation_index=shopper.pk
    )
    out = activity(linked, 1)
    unknown = dict(kind="approval_for_all", token_standard="erc721", token_id=None, operator_known=False)
    approval = activity(linked, 2, **unknown)
    activity(linked, 3, **(unknown | {"counterparty": OTHER_OPERATOR}))
    activity(linked, 4, **(unknown | {"counterparty": OTHER_OPERATOR, "kind": "approval_revoked"}))
    received = activity(
        custodial, 5, kind="transfer_in", token_standard="erc20", token_id=None, amount=42, ours=False
    )
    someone_else = get_user_model().objects.create_user("not-me", password="pw-123456789")
    theirs = Wallet.objects.create(
        user=someone_else, address="0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", kind=WalletKind.LINKED
    )
    hidden = activity(theirs, 6)

    html = _page(shopper)
    sections = dict(re.findall(r'data-wallet-activity="(0x[0-9a-fA-F]{40})"(.*?)</section>', html, re.S))
    assert set(sections) == {LINKED, CUSTODIAL}
    linked_ids = re.findall(r'data-activity="(\d+)"', sections[LINKED])
    assert linked_ids[-1] == str(out.pk) and len(linked_ids) == 4  # newest first
    assert re.findall(r'data-unknown-operator="(0x[0-9a-fA-F]{40})"', sections[LINKED]) == [STRANGER]
    assert "Sent" in sections[LINKED] and CONTRACT in sections[LINKED]
    assert f'data-activity="{approval.pk}" data-kind="approval_for_all"' in sections[LINKED]
    assert f'data-activity="{received.pk}" data-kind="transfer_in"' in sections[CUSTODIAL]
    assert "42 (base units)" in sections[CUSTODIAL] and "data-unknown-operator" not in sections[CUSTODIAL]
    assert f'data-activity="{hidden.pk}"' not in html


def test_wallet_without_activity_says_so(shopper: Any) -> None:
    Wallet.objects.create(user=shopper, address=LINKED, kind=WalletKind.LINKED)
    html = _page(shopper)
    assert f'data-wallet-activity="{LINKED}"' in html and "Nothing yet." in html
