"""The fault schedule of one chaos run, drawn from a seed (printed, replayable with CHAOS_SEED / --chaos-seed).

Two timelines run side by side: broker faults one after another (a node is back in sync before the next
one, so a single fault is in force at a time: the cluster is built to survive one node down), and process
faults at seeded instants of the drop, the one PostgreSQL crash + restart among them. Everything is
bounded: counts are fixed, times fall in the window.

Draws are appended, never inserted: a seed keeps the faults it drew before a new kind was added
(the PostgreSQL restart is drawn last).
"""

import random
from dataclasses import dataclass

BROKER_LEADER_KILLS = 5
BROKER_PAUSE_S = 30.0
CONSUMER_CUT_S = 60.0
# Every process kind killed once with SIGKILL at a random point (web: one granian worker).
KILLED = ("relay", "saga-0", "saga-1", "nft", "fulfilment", "notify", "sales", "projector", "ws-0", "worker",
          "chainwatch", "web-worker")  # fmt: skip


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the drop's traffic started
    kind: str  # broker_leader_kill | broker_pause | consumer_cut | kill9 | postgres_restart
    target: str  # process name, or "orders[<p>]" for a broker fault (the leader of that partition)
    hold: float  # seconds down / stopped before restart / SIGCONT


POSTGRES_RESTARTS = 1  # the private server (tests/chaos/pgserver.py), crashed and started again


def schedule(seed: int, *, window: float, partitions: int = 6) -> tuple[list[Fault], list[Fault]]:
    """(broker faults in order, process faults sorted by time) for a fault window of `window` seconds."""
    rng = random.Random(seed)
    broker: list[Fault] = []
    pause_slot = rng.randrange(BROKER_LEADER_KILLS + 1)
    for i in range(BROKER_LEADER_KILLS + 1):
        target = f"orders[{rng.randrange(partitions)}]"
        if i == pause_slot:
            broker.append(Fault(rng.uniform(1, 4), "broker_pause", target, BROKER_PAUSE_S))
        else:
            broker.append(Fault(rng.uniform(1, 4), "broker_leader_kill", target, rng.uniform(2, 8)))
    procs = [Fault(rng.uniform(5, window), "kill9", name, rng.uniform(1, 5)) for name in KILLED]
    procs.append(
        Fault(rng.uniform(5, max(6.0, window - CONSUMER_CUT_S)), "consumer_cut", "saga-1", CONSUMER_CUT_S)
    )
    for _ in range(POSTGRES_RESTARTS):  # while buyers, payments and mints are in flight
        procs.append(
            Fault(rng.uniform(20, max(21.0, window - 30)), "postgres_restart", "postgres", rng.uniform(1, 5))
        )
    return broker, sorted(procs, key=lambda f: f.at)
