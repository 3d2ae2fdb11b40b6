"""The owner-only activity feed API: paging, someone else's wallet, malformed input, the schema."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from nft.models import Wallet, WalletKind
from tests.nft.activity_factory import STRANGER, activity

pytestmark = pytest.mark.django_db

OWN = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
THEIRS = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"


@pytest.fixture
def owner() -> Any:
    return get_user_model().objects.create_user("feed-owner", password="pw-123456789")


@pytest.fixture
def api(owner: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def wallets(owner: Any) -> tuple[Wallet, Wallet]:
    other = get_user_model().objects.create_user("feed-other", password="pw-123456789")
    mine = Wallet.objects.create(user=owner, address=OWN, kind=WalletKind.LINKED)
    theirs = Wallet.objects.create(user=other, address=THEIRS, kind=WalletKind.LINKED)
    return mine, theirs


def _url(address: str, query: str = "") -> str:
    return f"/api/v1/nft/wallets/{address}/activity{query}"


def test_owner_pages_through_the_feed_newest_first(api: APIClient, wallets: tuple[Wallet, Wallet]) -> None:
    mine, theirs = wallets
    rows = [activity(mine, n) for n in range(1, 6)]
    activity(
        mine,
        6,
        kind="approval_for_all",
        token_standard="unknown",
        token_id=None,
        ours=False,
        operator_known=False,
    )
    activity(theirs, 7)

    first = api.get(_url(OWN.lower(), "?limit=4"))  # any case of the address
    assert first.status_code == 200
    body = first.json()
    assert body["wallet"] == {"address": OWN, "kind": "linked"}
    assert [r["token_id"] for r in body["results"]] == [None, "5", "4", "3"]
    approval = body["results"][0]
    assert approval["kind"] == "approval_for_all" and approval["operator_known"] is False
    assert approval["counterparty"] == STRANGER and approval["ours"] is False
    assert body["next_before"] == body["results"][-1]["id"]

    second = api.get(_url(OWN, f"?limit=4&before={body['next_before']}")).json()
    assert [r["id"] for r in second["results"]] == [rows[1].pk, rows[0].pk]
    assert second["next_before"] is None


def test_someone_elses_wallet_is_not_found_in_the_error_shape(
    api: APIClient, wallets: tuple[Wallet, Wallet]
) -> None:
    activity(wallets[1], 1)
    for address in (THEIRS, "0x0000000000000000000000000000000000000001"):
        response = api.get(_url(address))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "results" not in response.json()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (_url("0x1234"), "invalid_address"),
        (_url("not-an-address"), "invalid_address"),
        (_url("0x9965507D1a55bcC2695C58ba16FB37d819B0A4DC"), "invalid_address"),  # bad EIP-55 checksum
        (_url(OWN, "?limit=0"), "validation_error"),
        (_url(OWN, "?limit=1000"), "validation_error"),
        (_url(OWN, "?before=abc"), "validation_error"),
    ],
)
def test_malformed_input_is_a_400_in_the_error_shape(
    api: APIClient, wallets: tuple[Wallet, Wallet], path: str, code: str
) -> None:
    response = api.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], dict)


def test_anonymous_caller_is_refused(wallets: tuple[Wallet, Wallet]) -> None:
    response = APIClient().get(_url(OWN))
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")


def test_openapi_documents_the_feed_and_its_errors(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/nft/wallets/{address}/activity"]["get"]
    assert {"200", "400", "401", "404"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"address", "limit", "before"}
    feed = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "next_before" in schema["components"]["schemas"][feed]["properties"]
