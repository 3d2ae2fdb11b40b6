"""The ops admin page (monitoring/admin.py): health, lag, and a stuck saga with its working actions."""

import re
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from commerce.payments.models import MintStatus, SagaLine
from commerce.payments.services.intents import start_payment
from monitoring import collectors
from tests.payments.helpers import deliver_paid, outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser(username=f"ops-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def _section(html: str, table_id: str) -> str:
    match = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert match, f"no table {table_id}"
    return match.group(1)


def _stuck_mints() -> float:
    families = {m.name: m for m in collectors.sagas()}
    return next(s.value for s in families["mintdrop_sagas_stuck"].samples if s.labels["reason"] == "mint")


def test_ops_page_shows_every_dependency_and_the_consumer_groups(
    admin_client: Client, kafka_prefix: str
) -> None:
    def page_with_lag() -> str:
        page = admin_client.get("/admin/monitoring/ops/")
        assert page.status_code == 200
        return str(page.content.decode())

    # The topics were created for this test just now: their partitions may need a moment for a leader.
    deadline = time.monotonic() + 60
    html = page_with_lag()
    while "<td>saga</td>" not in _section(html, "ops-lag") and time.monotonic() < deadline:
        time.sleep(1)
        html = page_with_lag()
    deps = _section(html, "ops-dependencies")
    for name in ("postgres", "redis", "kafka", "anvil", "stripe-mock", "mailpit"):
        assert re.search(rf"<td>{name}</td><td class=\"ok\">ok</td>", deps), name
    lag = _section(html, "ops-lag")
    for group in ("saga", "nft", "notify", "projector"):
        assert f"<td>{group}</td>" in lag


def test_ops_page_is_for_staff_only(client: Client) -> None:
    response = client.get("/admin/monitoring/ops/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_stuck_mint_is_listed_counted_and_retried_from_the_page(
    make_order: Any, gateway: Any, admin_client: Client
) -> None:
    order = make_order([("jacket", 2), ("tee", 1)])
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    deliver_paid(order)
    assert _stuck_mints() == 0
    assert f">{order.pk}</a>" not in _section(
        admin_client.get("/admin/monitoring/ops/").content.decode(), "ops-sagas"
    )

    # The mint requests were never answered: an hour later the saga is stuck.
    SagaLine.objects.filter(order=order, mint_status=MintStatus.REQUESTED).update(
        mint_requested_at=timezone.now() - timedelta(hours=1)
    )
    assert _stuck_mints() == 1
    sagas = _section(admin_client.get("/admin/monitoring/ops/").content.decode(), "ops-sagas")
    assert f">{order.pk}</a>" in sagas and "mint not confirmed" in sagas
    form = re.search(
        r'<form class="act" method="post" action="([^"]+)">.*?value="action_retry">'
        r'<input type="hidden" name="_selected_action" value="(\d+)">',
        sagas,
        re.S,
    )
    assert form and form.group(2) == str(order.pk)

    # The page's "Retry failed steps" button: the order admin's own action, re-requesting the mints.
    before = len(outbox("nft.mint.requested", key=order.pk))
    response = admin_client.post(form.group(1), {"action": "action_retry", "_selected_action": form.group(2)})
    assert response.status_code == 302
    assert len(outbox("nft.mint.requested", key=order.pk)) == before + 2
