"""Fairness of the waiting room, on a real Redis and PostgreSQL with concurrent HTTP clients.

- 2,000 buyers queue for 200 units: those who joined before the start are admitted first, in the
  order the lottery drew; everyone after, in arrival order; nobody twice; admissions that are not
  used expire and their units go to the next in line; never more reserved than offered.
- The lottery is uniform: a chi-square test over repeated draws.
"""

import time
from collections import Counter
from typing import Any

import pytest

from commerce.services import drops
from commerce.waiting_room import services as rooms
from commerce.waiting_room import store
from tests.commerce.waiting_room.helpers import in_threads, join, many_buyers, place, reserve, stock_state
from tests.commerce.waiting_room.stats import chi2_sf

BUYERS, EARLY, UNITS, RATE = 2000, 100, 200, 40.0
TTL_MS = 30_000
# The admitter's clock is passed in: each tick moves it 10 s on (or to the real time, if that is
# later, so admission tokens -- checked against the real clock -- are never born expired).
STEP_MS = 10_000


@pytest.mark.django_db(transaction=True)
def test_2000_buyers_for_200_units_lottery_then_arrival_order(private_redis, queued_drop, shop, settings):
    settings.COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS = TTL_MS / 1000
    drop = queued_drop(offered=UNITS, limit=1, rate=RATE, live=False)
    sku = shop["tee"].pk
    pairs = many_buyers(BUYERS)
    users = [u for u, _ in pairs]
    clients = {u.pk: c for u, c in pairs}
    early, late = users[:EARLY], users[EARLY:]

    # Before the start: everyone is in the lottery, with no position yet.
    joined = in_threads(lambda u: join(clients[u.pk], drop.pk), early)
    assert {j["status"] for j in joined} == {"lottery"}

    drops.start_drop(drop_id=drop.pk)
    # After the start, concurrently: the first join opens the room (draws the lottery) first.
    arrivals = in_threads(lambda u: join(clients[u.pk], drop.pk), late)
    assert {a["status"] for a in arrivals} == {"queued"}
    ticket = {u.pk: a["ticket"] for u, a in zip(late, arrivals, strict=True)}
    # Arrival numbers: every late buyer one, after the lottery's, no gaps, no duplicates.
    assert sorted(ticket.values()) == list(range(EARLY + 1, BUYERS + 1))
    drawn = {u.pk: place(clients[u.pk], drop.pk)["ticket"] for u in early}
    assert sorted(drawn.values()) == list(range(1, EARLY + 1))
    # A reconnecting buyer keeps their place (identity = the user).
    again = in_threads(lambda u: join(clients[u.pk], drop.pk), late[:100])
    assert [a["ticket"] for a in again] == [ticket[u.pk] for u in late[:100]]

    # Admission: ticks on a simulated clock; admitted buyers reserve with their token, except every
    # 10th of the first 150 admitted, whose admission is left to expire.
    admitted_order: list[int] = []
    expired: list[int] = []
    idle: set[int] = set()
    now = int(time.time() * 1000)
    for _ in range(100):
        result = rooms.tick(drop_id=drop.pk, now_ms=now)
        admitted_order += result.admitted
        expired += result.expired
        first = len(admitted_order) - len(result.admitted)
        for index, buyer in enumerate(result.admitted, start=first):
            if index < 150 and index % 10 == 0:
                idle.add(buyer)
        active = [b for b in result.admitted if b not in idle]

        def buy(buyer_id: int) -> tuple[int, Any]:
            me = place(clients[buyer_id], drop.pk)
            assert me["status"] == "admitted", me
            return reserve(clients[buyer_id], drop.pk, sku, me["admission_token"])

        outcomes = in_threads(buy, active, threads=8) if active else []
        assert all(status == 201 for status, _ in outcomes), [o for o in outcomes if o[0] != 201]
        state = stock_state(drop.pk)
        assert state["reserved"] + state["sold"] <= state["offered"]
        if state["reserved"] == UNITS and store.status(drop_id=drop.pk, buyer_ids=[]).state == "open":
            break
        now = max(now + STEP_MS, int(time.time() * 1000))
    else:
        pytest.fail("the drop did not sell out in 100 ticks")

    # Nobody admitted twice; the log in Redis says the same.
    assert len(admitted_order) == len(set(admitted_order))
    assert store.admission_log(drop_id=drop.pk) == admitted_order
    # Every idle admission expired and was replaced: 200 units went to 200 other admitted buyers.
    assert sorted(expired) == sorted(idle) and len(idle) == 15
    assert len(admitted_order) == UNITS + len(idle)
    # Lottery group first, in the drawn order; then the late buyers in arrival order, the lowest
    # tickets first (nobody overtaken).
    lottery_part, fifo_part = admitted_order[:EARLY], admitted_order[EARLY:]
    assert [drawn[b] for b in lottery_part] == list(range(1, EARLY + 1))
    assert [ticket[b] for b in fifo_part] == list(range(EARLY + 1, EARLY + 1 + len(fifo_part)))
    # Stock: exactly the units offered are reserved, one reservation and one spent token each.
    state = stock_state(drop.pk)
    assert (state["reserved"], state["reservation_rows"], state["admission_uses"]) == (UNITS, UNITS, UNITS)
    # The buyers whose admission expired are out of the room (they may join again, at the back).
    assert {place(clients[b], drop.pk)["status"] for b in idle} == {"none"}


K, RUNS = 10, 2000
ALPHA = 1e-4


def _pearson(counts: list[list[int]], runs: int) -> float:
    expected = runs / len(counts)
    return sum((o - expected) ** 2 / expected for row in counts for o in row)


def _permutation_statistic(counts: list[list[int]], runs: int) -> tuple[float, int]:
    """Pearson's statistic of the joiner x place table, rescaled to a chi-square, and its df.

    A uniformly random permutation matrix, centred, lives in the (K-1)^2-dimensional space of
    matrices with zero row and column sums, where (by symmetry under relabelling joiners and places)
    its covariance is isotropic with total variance K-1. The sum of RUNS of them is then
    asymptotically normal there, and Pearson's statistic is K/(K-1) times a chi-square with (K-1)^2
    degrees of freedom.
    """
    k = len(counts)
    return _pearson(counts, runs) * (k - 1) / k, (k - 1) ** 2


def test_pre_start_lottery_is_uniform(private_redis):
    """2,000 draws of 10 buyers: the joiner x drawn-place table must look uniform.

    False-failure probability: ALPHA = 1e-4 per run of this test (the test fails only when a truly
    uniform shuffle gives a statistic beyond the 1 - 1e-4 quantile); with 2,000 draws every cell
    expects 200, so the chi-square approximation is sound.
    """
    counts = [[0] * K for _ in range(K)]
    base = 10_000_000
    for run in range(RUNS):
        drop_id = base + run
        store.create(drop_id=drop_id, state="pre", epoch=0)
        for joiner in range(K):  # they join in order 0..K-1
            assert store.join(drop_id=drop_id, buyer_id=joiner + 1)[0].status == "lottery"
        assert rooms.draw_lottery(drop_id=drop_id) == K
        places = store.status(drop_id=drop_id, buyer_ids=list(range(1, K + 1))).places
        for joiner in range(K):
            counts[joiner][places[joiner + 1].ticket - 1] += 1
    statistic, df = _permutation_statistic(counts, RUNS)
    p = chi2_sf(statistic, df)
    assert p > ALPHA, f"lottery not uniform: chi2={statistic:.1f}, df={df}, p={p:.2e}"
    # The test can fail: arrival order kept (no shuffle) is rejected by a mile.
    identity = [[RUNS if i == j else 0 for j in range(K)] for i in range(K)]
    assert chi2_sf(*_permutation_statistic(identity, RUNS)) < 1e-100
    # And a shuffle that favours early joiners a little (one swap in 4 draws missing) is caught too.
    biased = [[RUNS // K] * K for _ in range(K)]
    biased[0][0] += RUNS // 20
    biased[0][K - 1] -= RUNS // 20
    biased[K - 1][K - 1] += RUNS // 20
    biased[K - 1][0] -= RUNS // 20
    assert chi2_sf(*_permutation_statistic(biased, RUNS)) < ALPHA


def test_places_are_kept_across_rejoins_and_ordered_by_arrival(private_redis):
    """Store level: each join after the start gets the next ticket, rejoining returns the same one."""
    drop_id = 20_000_000
    store.create(drop_id=drop_id, state="pre", epoch=0)
    assert rooms.draw_lottery(drop_id=drop_id) == 0  # nobody came early
    tickets = [store.join(drop_id=drop_id, buyer_id=b)[0].ticket for b in range(1, 51)]
    assert tickets == list(range(1, 51))
    assert [store.join(drop_id=drop_id, buyer_id=b)[0].ticket for b in (7, 3, 50)] == [7, 3, 50]
    counts = Counter(store.join(drop_id=drop_id, buyer_id=b)[0].position for b in range(1, 51))
    assert counts == Counter(range(1, 51))


def test_a_join_after_the_start_waits_for_the_lottery_instead_of_entering_it(private_redis):
    """Store level: once the drop has started, a join finding the room undrawn changes nothing and
    answers `due` (the caller draws, then joins again as a late arrival); within a rebuild window
    the lottery is still open to it."""
    drop_id = 30_000_000
    store.create(drop_id=drop_id, state="pre", epoch=0)
    assert store.join(drop_id=drop_id, buyer_id=1)[0].status == "lottery"  # before the start
    now_ms = int(time.time() * 1000)
    place, meta = store.join(drop_id=drop_id, buyer_id=2, due_at_ms=now_ms)
    assert (place.status, meta["state"]) == ("due", "pre")
    assert store.early_members(drop_id=drop_id) == [1]  # buyer 2 was not put in the lottery
    assert rooms.draw_lottery(drop_id=drop_id) == 1
    place, meta = store.join(drop_id=drop_id, buyer_id=2, due_at_ms=now_ms)
    assert (place.status, place.ticket, meta["state"]) == ("queued", 2, "open")
    # A rebuilt room's rejoin window: joins after the start still enter its lottery until it ends.
    rebuilt = drop_id + 1
    store.create(drop_id=rebuilt, state="pre", epoch=1, rebuild_until_ms=now_ms + 60_000)
    place, meta = store.join(drop_id=rebuilt, buyer_id=3, due_at_ms=now_ms)
    assert (place.status, meta["epoch"], meta["rebuild_until"]) == ("lottery", "1", str(now_ms + 60_000))
