"""`manage.py compile_contracts`: rebuild nft/contracts/build/*.json with the pinned npm solc."""

import subprocess
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from nft.contracts import CONTRACTS_DIR


class Command(BaseCommand):
    help = "Compile the Solidity collection with the pinned solc-js (writes nft/contracts/build/)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out-dir", default=None, help="write artifacts here instead of build/")

    def handle(self, *args: Any, **options: Any) -> None:
        cmd = ["node", str(CONTRACTS_DIR / "compile.js")]
        if options["out_dir"]:
            cmd += ["--out-dir", options["out_dir"]]
        env = {"NODE_MODULES_DIR": str(settings.NODE_MODULES_DIR), "PATH": "/usr/local/bin:/usr/bin:/bin"}
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
        if result.returncode != 0:
            raise CommandError(result.stderr.strip() or "solc failed")
        self.stdout.write(result.stdout.strip())
