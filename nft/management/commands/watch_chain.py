"""`manage.py watch_chain`: the block confirmer process (Procfile `chainwatch`)."""

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.db.utils import InterfaceError, OperationalError

from config.errors import ApplicationError
from config.tracing import configure_tracing
from monitoring.exporter import start_process_exporter
from monitoring.metrics import set_chainwatch_head
from nft.services.confirmer import confirm_blocks
from nft.services.redemptions import confirm_redemptions
from nft.services.wallet_watch import run_round as watch_wallets_round

logger = logging.getLogger(__name__)
# One confirmer per database: a second process waits on this advisory lock instead of double-writing.
ADVISORY_LOCK_KEY = 0x6E66745F77617463  # "nft_watc"


class Command(BaseCommand):
    help = (
        "Follow new blocks: confirm our transactions at N confirmations, detect reorgs, index transfers, "
        "settle redemptions."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run a single round and exit")
        parser.add_argument("--interval", type=float, default=None, help="seconds between idle polls")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        configure_tracing("chainwatch")
        interval = options["interval"] or settings.NFT_POLL_INTERVAL_SECONDS
        if not options["once"]:
            start_process_exporter("chainwatch")
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        _take_lock(stop, interval)
        try:
            while not stop["now"]:
                try:
                    wallets_behind = watch_wallets_round()  # own cursor and reorg handling; logs node errors
                    try:
                        result = confirm_blocks()
                        confirm_redemptions()  # Redeemed logs that became final -> nft.redeemed
                    except ApplicationError as exc:  # node down: wait and retry, never crash-loop
                        logger.warning("confirmer round failed: %s", exc.message)
                        time.sleep(interval)
                        continue
                except (OperationalError, InterfaceError) as exc:
                    # The database went away (a restart, a failover): the round's transaction rolled
                    # back and the session's advisory lock is gone with it. Reconnect, take the lock
                    # again (another confirmer may hold it now) and redo the round.
                    logger.warning("database connection lost (%s); reconnecting", exc)
                    connection.close()
                    _take_lock(stop, interval)
                    continue
                if result.stored_tip is not None:
                    set_chainwatch_head(result.stored_tip)
                if result.reorg:
                    self.stdout.write(f"reorg: {result.reorg}")
                if result.confirmed:
                    logger.info(
                        "confirmed %s transactions up to block %s", len(result.confirmed), result.stored_tip
                    )
                if options["once"]:
                    break
                if not result.new_blocks and not result.reorg and not wallets_behind:
                    time.sleep(interval)
        finally:
            try:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            except (OperationalError, InterfaceError):
                pass  # the session is gone, and its lock with it


def _take_lock(stop: dict[str, bool], interval: float) -> None:
    """Block until this session holds the confirmer lock, reconnecting while the database is down."""
    delay = interval
    while not stop["now"]:
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            return
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unreachable (%s); retrying", exc)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
