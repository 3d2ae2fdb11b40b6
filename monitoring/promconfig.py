"""Writes the Prometheus configuration: every mintdrop process as a scrape target, our alert rules.

Stdlib only, so `ops/` runs it before any Django set-up: `python3 -m monitoring.promconfig`.
The output is JSON, which is valid YAML, so Prometheus reads it as its YAML config.
Tests build a private instance's config with `build()` (short intervals, their own targets).
"""

import argparse
import json
import os
from pathlib import Path
from typing import Any

from monitoring.ports import all_targets

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "ops" / "prometheus" / "rules"
HOST = "127.0.0.1"


def build(
    *,
    targets: dict[str, int],
    web_port: int | None = None,
    rule_files: list[str] | None = None,
    scrape_interval: str = "15s",
    scrape_timeout: str = "10s",
    evaluation_interval: str = "15s",
    alertmanager_port: int | None = None,
) -> dict[str, Any]:
    """The config as a dict: one job `mintdrop` (label `process` per target) plus the web's /metrics."""
    scrape: list[dict[str, Any]] = [
        {
            "job_name": "mintdrop",
            "static_configs": [
                {"targets": [f"{HOST}:{port}"], "labels": {"process": kind}}
                for kind, port in sorted(targets.items())
            ],
        }
    ]
    if web_port is not None:
        scrape.append(
            {
                "job_name": "mintdrop-web",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"{HOST}:{web_port}"], "labels": {"process": "web"}}],
            }
        )
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_timeout,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": rule_files if rule_files is not None else [str(RULES_DIR / "*.yml")],
        "scrape_configs": scrape,
    }
    if alertmanager_port:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{alertmanager_port}"]}]}]
        }
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="file to write")
    parser.add_argument("--alertmanager-port", type=int, default=None)
    args = parser.parse_args()
    config = build(
        targets=all_targets(),
        web_port=int(os.environ.get("WEB_PORT", "8000")),
        alertmanager_port=args.alertmanager_port,
    )
    Path(args.out).write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    main()
