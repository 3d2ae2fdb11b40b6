"""Sign-In with Ethereum: messages made and signed by the reference JS implementation, verified here."""

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from nft.errors import SiweError
from nft.keys import anvil_account
from nft.models import SiweNonce, Wallet, WalletKind
from nft.siwe import parse_message, verify_message

SIGN_JS = Path(__file__).with_name("siwe_sign.js")
KEY_OWNER = anvil_account(3)
OTHER = anvil_account(4)


def js_sign(account: Any = KEY_OWNER, **fields: Any) -> dict[str, str]:
    args = {"privateKey": "0x" + bytes(account.key).hex(), **fields}
    out = subprocess.run(
        ["node", str(SIGN_JS), json.dumps(args)], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, str] = json.loads(out.stdout)
    return result


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


NOW = datetime.now(UTC)
BASE = {"domain": "127.0.0.1:8000", "uri": "http://127.0.0.1:8000", "chainId": 31337, "nonce": "abcdef123456"}


@pytest.mark.parametrize(
    "extra",
    [
        {"statement": "Link this wallet to mintdrop."},
        {},
        {
            "expirationTime": _iso(NOW + timedelta(minutes=5)),
            "notBefore": _iso(NOW - timedelta(minutes=1)),
            "requestId": "req-1",
            "resources": ["https://example.org/a", "ipfs://bafy"],
        },
    ],
    ids=["statement", "no-statement", "all-optional-fields"],
)
def test_reference_js_messages_parse_and_verify(extra: dict[str, Any]) -> None:
    signed = js_sign(issuedAt=_iso(NOW), **BASE, **extra)
    parsed = verify_message(
        signed["message"], signed["signature"], domain="127.0.0.1:8000", chain_id=31337, now=NOW
    )
    assert parsed.address == KEY_OWNER.address and parsed.nonce == "abcdef123456"
    assert parsed.statement == extra.get("statement")
    assert parsed.resources == extra.get("resources", [])


@pytest.mark.parametrize(
    ("fields", "domain", "chain_id", "error"),
    [
        ({}, "evil.example", 31337, "another domain"),
        ({}, "127.0.0.1:8000", 1, "another chain"),
        ({"expirationTime": _iso(NOW - timedelta(seconds=1))}, "127.0.0.1:8000", 31337, "expired"),
        ({"notBefore": _iso(NOW + timedelta(hours=1))}, "127.0.0.1:8000", 31337, "not valid yet"),
    ],
)
def test_rejections(fields: dict[str, Any], domain: str, chain_id: int, error: str) -> None:
    signed = js_sign(issuedAt=_iso(NOW - timedelta(minutes=1)), **BASE, **fields)
    with pytest.raises(SiweError, match=error):
        verify_message(signed["message"], signed["signature"], domain=domain, chain_id=chain_id, now=NOW)


def test_signature_of_another_key_is_rejected() -> None:
    mine = js_sign(issuedAt=_iso(NOW), **BASE)
    theirs = js_sign(OTHER, issuedAt=_iso(NOW), **BASE)
    with pytest.raises(SiweError, match="signature"):
        verify_message(mine["message"], theirs["signature"], domain="127.0.0.1:8000", chain_id=31337, now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda m: m.replace("Version: 1", "Version: 2"),
        lambda m: m.replace(KEY_OWNER.address, KEY_OWNER.address.lower()),
        lambda m: m.replace("Nonce: abcdef123456", "Nonce: short"),
        lambda m: m + "\nExtra: line",
        lambda m: m.replace("\n", "\r\n"),
        lambda m: "",
    ],
)
def test_malformed_messages_are_rejected(mangle: Any) -> None:
    signed = js_sign(issuedAt=_iso(NOW), **BASE)
    with pytest.raises(SiweError):
        parse_message(mangle(signed["message"]))


@pytest.mark.django_db
class TestLinkingThroughTheApi:
    def _login(self, settings: Any) -> tuple[APIClient, Any]:
        settings.SIWE_DOMAIN, settings.SIWE_URI, settings.CHAIN_ID = (
            "127.0.0.1:8000",
            "http://127.0.0.1:8000",
            31337,
        )
        user = get_user_model().objects.create_user("shopper", password="pw-123456789")
        api = APIClient()
        api.force_authenticate(user)
        return api, user

    def _signed(self, api: APIClient, account: Any = KEY_OWNER, **fields: Any) -> dict[str, str]:
        issued = api.post("/api/v1/nft/siwe/nonce")
        assert issued.status_code == 201
        body = issued.json()
        return js_sign(
            account,
            domain=body["domain"],
            uri=body["uri"],
            chainId=body["chain_id"],
            nonce=body["nonce"],
            issuedAt=_iso(datetime.now(UTC)),
            **fields,
        )

    def test_valid_message_links_once_and_the_nonce_cannot_be_reused(self, settings: Any) -> None:
        api, user = self._login(settings)
        signed = self._signed(api)
        first = api.post("/api/v1/nft/siwe/verify", signed, format="json")
        assert first.status_code == 201 and first.json()["address"] == KEY_OWNER.address
        assert Wallet.objects.filter(user=user, kind=WalletKind.LINKED).count() == 1
        Wallet.objects.all().delete()
        again = api.post("/api/v1/nft/siwe/verify", signed, format="json")  # replay of the same message
        assert again.status_code == 400 and again.json()["error"]["code"] == "siwe_invalid"
        assert "nonce" in again.json()["error"]["message"]
        assert not Wallet.objects.exists()

    @pytest.mark.parametrize("case", ["wrong-signature", "wrong-domain", "expired", "unknown-nonce"])
    def test_rejected_messages_link_nothing_and_keep_the_nonce(self, settings: Any, case: str) -> None:
        api, _user = self._login(settings)
        if case == "wrong-signature":
            signed = self._signed(api)
            signed["signature"] = js_sign(OTHER, **{**BASE, "issuedAt": _iso(NOW)})["signature"]
        elif case == "wrong-domain":
            signed = self._signed(api)
            signed["message"] = signed["message"].replace("127.0.0.1:8000 wants", "evil.example wants", 1)
        elif case == "expired":
            signed = self._signed(api, expirationTime=_iso(datetime.now(UTC) - timedelta(seconds=5)))
        else:
            signed = js_sign(**{**BASE, "nonce": "neverissued1", "issuedAt": _iso(NOW)})
        response = api.post("/api/v1/nft/siwe/verify", signed, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "siwe_invalid"
        assert not Wallet.objects.exists()
        assert not SiweNonce.objects.filter(used_at__isnull=False).exists()

    def test_bad_input_is_a_400_in_the_error_shape(self, settings: Any) -> None:
        api, _user = self._login(settings)
        response = api.post("/api/v1/nft/siwe/verify", {"message": "hi", "signature": "0x12"}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
