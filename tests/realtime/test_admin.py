"""The admin lists dead letters and re-drives one through Kafka to its group only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config.errors import ApplicationError
from realtime.events import Event
from realtime.models import DeadLetter, DiagnosticsPing, InboxEntry
from realtime.registry import handles
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings, headers_of, read_topic
from tests.realtime.test_consumer import relay_all

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

_refuse = {"on": True}


class NotYet(ApplicationError):
    code = "not_yet"


@handles("test_redrive", "diagnostics.ping")
def picky_handler(event: Event) -> None:
    if _refuse["on"]:
        raise NotYet("the handler refuses for now")
    DiagnosticsPing.objects.create(
        event_id=event.id, key=event.key, seq=event.payload["seq"], sent_at=event.occurred_at
    )


def test_admin_lists_dead_letters_and_redrives_one(kafka_prefix: str) -> None:
    (event_id,) = emit_pings(1, keys=1)
    relay_all()
    with ConsumerThread("test_redrive") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="dead letter")
    (dead,) = DeadLetter.objects.all()
    assert (dead.event_id, dead.error_code) == (event_id, "not_yet")

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/realtime/deadletter/")
    assert page.status_code == 200 and b"not_yet" in page.content

    _refuse["on"] = False  # the cause is fixed; re-drive
    response = client.post(
        "/admin/realtime/deadletter/",
        {"action": "redrive_selected", "_selected_action": [dead.pk]},
        follow=True,
    )
    assert response.status_code == 200, response.status_code
    assert [str(m) for m in response.context["messages"]] == ["re-drove 1 message(s)"]
    dead.refresh_from_db()
    assert dead.redrive_count == 1 and dead.redriven_at is not None

    copies = [m for m in read_topic("diagnostics") if headers_of(m).get("redrive-group")]
    assert len(copies) == 1 and headers_of(copies[0])["redrive-group"] == "test_redrive"

    with ConsumerThread("test_redrive") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="re-driven message")
    with ConsumerThread("diagnostics") as other:  # another group skips the re-driven copy
        wait_for(lambda: other.lag() == 0, what="other group")
        stats = other.stop()
    assert stats.skipped == 1 and stats.processed == 1
    assert list(DiagnosticsPing.objects.filter(key="k0").values_list("seq", flat=True)) == [0, 0]
    assert InboxEntry.objects.filter(group="test_redrive", event_id=event_id).exists()
