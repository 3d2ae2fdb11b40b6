"""Live-show pages: list, viewer page (video, pinned card, flash drop, chat), host console, demo media."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from commerce import selectors as commerce_selectors
from commerce.errors import NotFound
from commerce.payments.services import saved_cards
from commerce.shows import selectors
from commerce.shows.models import Show
from frontend.shows.live_playlist import live_playlist, parse_vod


def show_list(request: HttpRequest) -> HttpResponse:
    """Live shows first, then upcoming ones."""
    return render(request, "frontend/shows/list.html", {"shows": selectors.public_shows()[:50]})


def _show(pk: int) -> Show:
    show = Show.objects.select_related("merchant").filter(pk=pk, merchant__is_active=True).first()
    if show is None:
        raise Http404("no such show")
    return show


def watch(request: HttpRequest, pk: int) -> HttpResponse:
    """The viewer page: anyone may watch; signed-in shoppers chat and buy without leaving it."""
    card = saved_cards.active_card(user_id=int(request.user.pk)) if request.user.is_authenticated else None
    return render(request, "frontend/shows/watch.html", {"show": _show(pk), "saved_card": card})


def venue(request: HttpRequest, pk: int) -> HttpResponse:
    """The 3D venue: the show mirrored from the venue feed alone, as a metaverse client would."""
    return render(request, "frontend/shows/venue.html", {"show": _show(pk)})


@login_required
def host(request: HttpRequest, merchant_id: int, pk: int) -> HttpResponse:
    """The host console: go live, pin, launch flash drops, end; viewers, sales, stock; moderation."""
    try:
        merchant = commerce_selectors.merchant_for_member(user=request.user, merchant_id=merchant_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404("not a member of this merchant") from None
    show = _show(pk)
    if show.merchant_id != merchant.pk:
        raise Http404("not this merchant's show")
    products = commerce_selectors.merchant_products(merchant_id=merchant.pk).filter(is_active=True)
    shows = Show.objects.filter(merchant=merchant).order_by("-scheduled_at")[:20]
    return render(
        request,
        "frontend/shows/host.html",
        {"show": show, "merchant": merchant, "products": products, "shows": shows},
    )


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Dev/demo only: the HLS files `seed_demo_show` made (production serves them from a CDN)."""
    if not settings.SHOWS_SERVE_MEDIA:
        raise Http404("media are not served by the app here")
    root = (Path(settings.SHOWS_MEDIA_DIR) / "shows").resolve()
    target = (root / path).resolve()
    if target.name == "live.m3u8" and root in target.parents:
        return _live(target.with_name("index.m3u8"))
    if (
        root not in target.parents
        or not target.is_file()
        or target.suffix not in (".m3u8", ".ts", ".jpg", ".png")
    ):
        raise Http404("no such file")
    kind = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}.get(target.suffix)
    return FileResponse(target.open("rb"), content_type=kind or mimetypes.guess_type(target.name)[0])


def _live(vod: Path) -> HttpResponse:
    """The VOD next to it played as a live stream with EXT-X-PROGRAM-DATE-TIME (frontend/shows/live_playlist.py)."""
    if not vod.is_file():
        raise Http404("no such stream")
    segments = parse_vod(vod.read_text())
    if not segments:
        raise Http404("no segments")
    response = HttpResponse(
        live_playlist(segments, now=timezone.now()), content_type="application/vnd.apple.mpegurl"
    )
    response["Cache-Control"] = "no-store"  # a live playlist changes every segment
    return response
