"""When a block counts as final: N confirmations, or the node's `finalized` block where it has one.

CHAIN_FINALITY = "confirmations" (default) counts CHAIN_CONFIRMATIONS blocks from the head;
"finalized" follows the node's `finalized` block tag (post-Merge Ethereum and most L2s), so a
transaction is final once the consensus layer finalized its block — not after a guessed depth.
A node that does not know the tag falls back to the count.
"""

import logging

from django.conf import settings

from nft.chain import ChainClient
from nft.errors import ChainRejected

logger = logging.getLogger(__name__)


def uses_finalized_tag() -> bool:
    return str(settings.CHAIN_FINALITY).lower() == "finalized"


def final_block_number(c: ChainClient, *, head: int) -> int:
    """The highest block number whose transactions count as final right now (may be < 0: none)."""
    if uses_finalized_tag():
        try:
            block = c.get_block("finalized")
        except ChainRejected as exc:  # an old node: no such tag
            logger.warning("node has no finalized block tag (%s); counting confirmations", exc.message)
            block = None
        if block is not None:
            return min(head, int(block["number"]))
    return head - int(settings.CHAIN_CONFIRMATIONS) + 1
