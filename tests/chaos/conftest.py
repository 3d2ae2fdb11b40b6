"""The chaos suite runs only when asked (`make chaos`, or MINTDROP_CHAOS=1): it needs a private 3-broker
cluster (see tests/chaos/README.md) and several minutes per run, more than CI's budget allows."""

import os
import random

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos-seed", type=int, default=None, help="replay a chaos run (default: CHAOS_SEED or random)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MINTDROP_CHAOS") == "1":
        return
    skip = pytest.mark.skip(reason="chaos suite: run with `make chaos` (needs a private 3-broker cluster)")
    for item in items:
        if "tests/chaos/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    seed = request.config.getoption("--chaos-seed", default=None)
    if seed is None:
        seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 2**31))
    print(f"\nchaos seed: {seed}  (replay: make chaos CHAOS_SEED={seed})", flush=True)
    return int(seed)
