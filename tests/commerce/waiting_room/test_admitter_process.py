"""The admitter as it runs in production: `manage.py run_waiting_room` in its own process."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.commerce.conftest import client_for
from tests.commerce.waiting_room.helpers import join, place, reserve
from tests.ws.conftest import child_env

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def test_the_admitter_process_admits_at_its_rate(private_redis, queued_drop, make_user, shop, tmp_path):
    drop = queued_drop(offered=3, limit=1, rate=2)
    buyers = [make_user() for _ in range(5)]
    for buyer in buyers:
        join(client_for(buyer), drop.pk)
    env = child_env(
        COMMERCE_WAITING_ROOM_REDIS_URL=settings.COMMERCE_WAITING_ROOM_REDIS_URL,
        COMMERCE_WAITING_ROOM_PREFIX=settings.COMMERCE_WAITING_ROOM_PREFIX,
        COMMERCE_WAITING_ROOM_TICK_SECONDS="0.05",
    )
    log = (tmp_path / "admitter.log").open("wb")
    admitter = subprocess.Popen(
        [sys.executable, "manage.py", "run_waiting_room"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        # Its first tick (importing Django on a loaded CI box can take minutes), then the admission.
        assert admitter.stdout is not None
        assert b"ticking" in admitter.stdout.readline(), (tmp_path / "admitter.log").read_text()
        deadline = time.monotonic() + 120
        while place(client_for(buyers[0]), drop.pk)["status"] != "admitted":
            assert admitter.poll() is None, (tmp_path / "admitter.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "admitter.log").read_text()
            time.sleep(0.1)
        me = place(client_for(buyers[0]), drop.pk)
        assert reserve(client_for(buyers[0]), drop.pk, shop["tee"].pk, me["admission_token"])[0] == 201
        # Never more admitted at once than the free units (3 - 1 reserved), whatever the rate.
        statuses = [place(client_for(b), drop.pk)["status"] for b in buyers]
        assert statuses.count("admitted") <= 2
    finally:
        admitter.terminate()
        admitter.wait(timeout=30)
        log.close()
