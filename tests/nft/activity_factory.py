"""WalletActivity rows for feed tests that do not need a chain (the watcher's own tests use anvil)."""

from decimal import Decimal
from typing import Any

from django.conf import settings

from nft.models import Wallet, WalletActivity

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
STRANGER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"


def activity(wallet: Wallet, n: int, **fields: Any) -> WalletActivity:
    """Activity number `n` of `wallet` (block 100 + n), a transfer out of token n unless told."""
    values: dict[str, Any] = {
        "chain_id": settings.CHAIN_ID,
        "wallet": wallet,
        "kind": "transfer_out",
        "token_standard": "erc721",
        "contract": CONTRACT,
        "token_id": Decimal(n),
        "counterparty": STRANGER,
        "ours": True,
        "tx_hash": "0x" + f"{n:064x}",
        "log_index": 0,
        "block_number": 100 + n,
        "block_hash": "0x" + f"{n + 7:064x}",
    }
    values.update(fields)
    return WalletActivity.objects.create(**values)
