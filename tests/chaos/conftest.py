"""The chaos suite runs only when asked (`make chaos`, or MINTDROP_CHAOS=1): it needs a private 3-broker
cluster (see tests/chaos/README.md) and several minutes per run, more than CI's budget allows.

Seeds: `--chaos-seed 7` or `CHAOS_SEED=7` replays a run; a comma-separated list (`1,2,3`) runs one
chaos run per seed in one session; nothing given draws a random seed. Each run prints its seed.
"""

import os
import random

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos-seed",
        default=None,
        help="seed(s) of the chaos runs: 7 or 1,2,3 (default: CHAOS_SEED or random)",
    )


def _seeds(config: pytest.Config) -> list[int]:
    raw = config.getoption("--chaos-seed", default=None) or os.environ.get("CHAOS_SEED") or ""
    seeds = [int(s) for s in str(raw).split(",") if s.strip()]
    return seeds or [random.SystemRandom().randrange(1, 2**31)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chaos_seed" in metafunc.fixturenames:
        seeds = _seeds(metafunc.config)
        if "planted" in metafunc.function.__name__:
            seeds = seeds[:1]
        metafunc.parametrize("chaos_seed", seeds, ids=[f"seed-{s}" for s in seeds])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MINTDROP_CHAOS") == "1":
        return
    skip = pytest.mark.skip(reason="chaos suite: run with `make chaos` (needs a private 3-broker cluster)")
    for item in items:
        if "tests/chaos/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _announce_seed(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "chaos_seed" in callspec.params:
        seed = callspec.params["chaos_seed"]
        print(f"\nchaos seed: {seed}  (replay: make chaos CHAOS_SEED={seed})", flush=True)
