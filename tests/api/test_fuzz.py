"""Schemathesis against /api/schema/: every documented operation, as a shopper and as a merchant.

Each response must be no server error and must match what the schema documents (status code,
content type, body). Examples are bounded and derandomized so a run is repeatable and short; run it
alone with `pytest tests/api/test_fuzz.py -q -p no:cacheprovider` (FUZZ_EXAMPLES=N for more).

A failure names the operation and the check, and shows the request as a curl line to replay.
"""

import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from commerce.services import catalog, drops
from commerce.shows.services import lifecycle

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "fuzz-password-1234"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


# Loaded at collection: generating the schema needs no database, and each operation becomes its own
# test (`test_api_as_shopper[POST /api/v1/...]`), so a failure names its endpoint.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The coverage phase walks every boundary of every field (dozens of requests per operation, not
# bounded by max_examples): FUZZ_COVERAGE=1 turns it on for a deeper run.
schema.config.phases.coverage.enabled = os.environ.get("FUZZ_COVERAGE", "0") == "1"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Two log-ins per operation: a cheap hasher keeps the run about requests, not PBKDF2 rounds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _token(client: Any, user: User) -> str:
    """Log in through the API, as a real client does (whatever token scheme the API uses)."""
    response = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    return str(body["token"])


@pytest.fixture
def world(db: Any, client: Any) -> dict[str, Any]:
    """A merchant with a catalog, a drop, a show; a shopper; real ids for path parameters."""
    suffix = uuid.uuid4().hex[:6]
    owner = User.objects.create_user(username=f"owner-{suffix}", password=PASSWORD)
    shopper = User.objects.create_user(username=f"shopper-{suffix}", password=PASSWORD)
    merchant = catalog.create_merchant(name="Fuzz shop", slug=f"fuzz-{suffix}", owner=owner)
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Certs", chain_id=31337, contract_address=CONTRACT
    )
    tee = catalog.create_product(
        merchant_id=merchant.pk, kind="physical", title="Tee", skus=[catalog.SkuSpec(code="TEE", price=2500)]
    )
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Drop",
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=None,
        per_buyer_limit=2,
        items=[drops.DropItemSpec(sku_id=tee.skus.get().pk, quantity=10)],
    )
    show = lifecycle.create_show(
        merchant_id=merchant.pk,
        title="Live",
        playback_url="/media/shows/demo-show/index.m3u8",
        scheduled_at=timezone.now(),
    )
    return {
        "merchant": merchant,
        "ids": {"drops": drop.pk, "products": tee.pk, "shows": show.pk, "collections": collection.pk},
        "tokens": {"shopper": _token(client, shopper), "merchant": _token(client, owner)},
    }


def _aim(case: Any, role: str, world: dict[str, Any]) -> None:
    """Point path parameters at real objects half of the time, so checks reach past the 404s."""
    params = case.path_parameters or {}
    if role == "merchant" and "merchant_id" in params:
        params["merchant_id"] = world["merchant"].pk
    value = params.get("id")
    if isinstance(value, int) and value % 2 == 0:
        for resource, pk in world["ids"].items():
            if f"/{resource}/{{id}}" in case.operation.path:
                params["id"] = pk


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _call(case: Any, role: str, world: dict[str, Any]) -> None:
    _aim(case, role, world)
    # The WSGI handler closes the database connection around each request, which would end the
    # test's transaction; Django's own test client turns that off the same way, per request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(
            headers={"Authorization": f"Token {world['tokens'][role]}"},
            checks=CHECKS,
            buffered=True,  # werkzeug closes the response (and fires request_finished) right away
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_shopper(case: Any, world: dict[str, Any]) -> None:
    _call(case, "shopper", world)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_merchant(case: Any, world: dict[str, Any]) -> None:
    _call(case, "merchant", world)
