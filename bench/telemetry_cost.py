"""What metrics and tracing cost the reserve path: bench/drop_stampede.py with both off, then both on.

Runs the stampede `--rounds` times per mode, alternating off/on so drift on a shared box hits both,
each run against its own fresh database and server (drop_stampede pins those). The figure compared
is the reserve requests/s of each run: `slowdown` = 1 - median(on) / median(off) (goal ≤ 0.05). Each
run's own `ratio` (reserve ÷ /healthz of the same server) is printed too, but it cannot be the figure:
/healthz pays the telemetry as well, so with telemetry on the baseline drops and the ratio rises.

    .venv/bin/python bench/telemetry_cost.py [--rounds 2] [--buyers 2000] [--units 500]

With metrics on the web workers share a fresh PROMETHEUS_MULTIPROC_DIR (as the Procfile runs them);
with tracing on spans are exported to the OTLP endpoint of ops/env.sh (Jaeger, started by ops/).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_stampede(*, on: bool, buyers: int, units: int) -> dict[str, Any]:
    env = {**os.environ, "MINTDROP_METRICS": "1" if on else "0", "MINTDROP_TRACING": "1" if on else "0"}
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as metrics_dir:
        if on:
            env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        done = subprocess.run(
            [sys.executable, "bench/drop_stampede.py", "--buyers", str(buyers), "--units", str(units)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
    result: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{") :])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            runs[mode].append(run_stampede(on=mode == "on", buyers=args.buyers, units=args.units))

    def summary(mode: str) -> dict[str, Any]:
        rows = runs[mode]
        return {
            "ratios": [r["ratio"] for r in rows],
            "median_ratio": statistics.median(r["ratio"] for r in rows),
            "median_reserve_requests_per_s": statistics.median(r["reservation_requests_per_s"] for r in rows),
            "healthz_requests_per_s": [r["baseline_healthz"]["req_per_s"] for r in rows],
            "reserve_requests_per_s": [r["reservation_requests_per_s"] for r in rows],
            "p99_ms": [r["p99_ms"] for r in rows],
            "oversold": [r["oversold"] for r in rows],
        }

    off, on = summary("off"), summary("on")
    print(
        json.dumps(
            {
                "bench": "telemetry_cost",
                "conditions": {
                    "buyers": args.buyers,
                    "units": args.units,
                    "rounds_per_mode": args.rounds,
                    "order": "off, on alternating",
                    "server": runs["off"][0]["server"],
                    "client": runs["off"][0]["client"],
                },
                "off": off,
                "on": on,
                "slowdown": round(
                    1 - on["median_reserve_requests_per_s"] / off["median_reserve_requests_per_s"], 4
                ),
                "goal": "slowdown <= 0.05",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
