"""Giveaways: a free draw among signed-in viewers present in the show, with a commit-reveal seed.

Opening commits to a random seed by publishing sha256(seed) (event + frame) before anyone enters.
Viewers enter from the show's socket (an open socket is their presence). The draw hashes the entrant
ids (ascending, comma-separated) and picks index int(sha256(seed + ":" + entrants_hash)) mod N;
then the seed is published. Anyone can check sha256(seed) against the commitment made before the
entries and recompute the winner from the published ids.
"""

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.auctions.errors import (
    GiveawayAlreadyOpen,
    GiveawayClosed,
    GiveawayNoEntrants,
    GiveawayNotAuthenticated,
    GiveawayNotFound,
)
from commerce.auctions.models import Giveaway, GiveawayEntry, GiveawayState
from commerce.auctions.selectors import giveaway_state
from commerce.shows.models import ShowMute
from commerce.shows.services.common import is_host, lock_show, require_live
from commerce.shows.services.pins import merchant_product
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entrants_hash(user_ids: list[int]) -> str:
    return sha256_hex(",".join(str(i) for i in sorted(user_ids)))


def winner_index(*, seed: str, entrants_digest: str, count: int) -> int:
    """The published rule: int(sha256(seed + ":" + entrants_hash), 16) mod count."""
    return int(sha256_hex(f"{seed}:{entrants_digest}"), 16) % count


def open_giveaway(*, show_id: int, merchant_id: int, title: str, product_id: int | None = None) -> Giveaway:
    """The host opens a giveaway on the live show; its seed's hash is published now."""
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        require_live(show, "opening a giveaway")
        if Giveaway.objects.filter(show=show, state=GiveawayState.OPEN).exists():
            raise GiveawayAlreadyOpen("Draw the open giveaway first.", details={"show_id": show_id})
        product = merchant_product(merchant_id=merchant_id, product_id=product_id) if product_id else None
        seed = secrets.token_hex(32)
        giveaway = Giveaway.objects.create(
            show=show,
            title=(title.strip() or "Giveaway")[:200],
            product=product,
            seed=seed,
            seed_hash=sha256_hex(seed),
        )
        emit(type="giveaway.opened", key=show_id,
             payload={"giveaway_id": giveaway.pk, "show_id": show_id, "title": giveaway.title,
                      "product_id": giveaway.product_id, "seed_hash": giveaway.seed_hash})  # fmt: skip
        push_on_commit(show_id, "giveaway", giveaway=giveaway_state(giveaway))
        return giveaway


def enter_giveaway(*, giveaway_id: int, user: User | None) -> bool:
    """A present signed-in viewer enters (muted viewers and hosts cannot); True if newly entered."""
    if user is None or not user.is_authenticated:
        raise GiveawayNotAuthenticated("Sign in to enter the giveaway.")
    giveaway = Giveaway.objects.select_related("show").filter(pk=giveaway_id).first()
    if giveaway is None:
        raise GiveawayNotFound("Giveaway not found.", details={"resource": "giveaway", "id": giveaway_id})
    if giveaway.state != GiveawayState.OPEN:
        raise GiveawayClosed("This giveaway has been drawn.", details={"giveaway_id": giveaway_id})
    if (
        is_host(user_id=user.pk, merchant_id=giveaway.show.merchant_id)
        or ShowMute.objects.filter(show_id=giveaway.show_id, user_id=user.pk).exists()
    ):
        raise GiveawayClosed("This account cannot enter this giveaway.", details={"giveaway_id": giveaway_id})
    try:
        with transaction.atomic():
            GiveawayEntry.objects.create(giveaway=giveaway, user=user)
    except IntegrityError:
        return False
    return True


def draw_giveaway(*, giveaway_id: int, merchant_id: int) -> Giveaway:
    """Draw the winner by the published rule, reveal the seed; entries close."""
    with transaction.atomic():
        giveaway = (
            Giveaway.objects.select_for_update().filter(pk=giveaway_id, show__merchant_id=merchant_id).first()
        )
        if giveaway is None:
            raise GiveawayNotFound("Giveaway not found.", details={"resource": "giveaway", "id": giveaway_id})
        if giveaway.state != GiveawayState.OPEN:
            raise GiveawayClosed("This giveaway has been drawn.", details={"giveaway_id": giveaway_id})
        ids = sorted(GiveawayEntry.objects.filter(giveaway=giveaway).values_list("user_id", flat=True))
        if not ids:
            raise GiveawayNoEntrants("Nobody has entered yet.", details={"giveaway_id": giveaway_id})
        digest = entrants_hash(ids)
        winner_id = ids[winner_index(seed=giveaway.seed, entrants_digest=digest, count=len(ids))]
        giveaway.state, giveaway.drawn_at = GiveawayState.DRAWN, timezone.now()
        giveaway.entrants_hash, giveaway.entrants_count, giveaway.winner_id = digest, len(ids), winner_id
        giveaway.save()
        emit(type="giveaway.drawn", key=giveaway.show_id,
             payload={"giveaway_id": giveaway.pk, "show_id": giveaway.show_id, "seed": giveaway.seed,
                      "seed_hash": giveaway.seed_hash, "entrant_ids": ids, "entrants_hash": digest,
                      "winner_id": winner_id})  # fmt: skip
        push_on_commit(giveaway.show_id, "giveaway", giveaway=giveaway_state(giveaway))
        return giveaway
