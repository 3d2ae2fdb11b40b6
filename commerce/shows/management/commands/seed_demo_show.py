"""`manage.py seed_demo_show`: a live demo show with a local HLS test video, a pinned wearable and a flash drop.

Run after `seed_demo` (it runs it if the demo merchant is missing). The video is a 10 s ffmpeg test
pattern cut into HLS segments under SHOWS_MEDIA_DIR/shows/demo-show/ (made once, never committed),
served in dev as a live stream that loops them with EXT-X-PROGRAM-DATE-TIME stamps
(/media/shows/demo-show/live.m3u8, frontend/shows/live_playlist.py), so the page plays offline and
puts show events on the video's clock.
"""

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from commerce.management.commands.seed_demo import demo_media_path
from commerce.models import DropState, Merchant, Product
from commerce.shows.models import Show, ShowState
from commerce.shows.services import flash, lifecycle, pins

TITLE = "Demo show: live now"
UPCOMING_TITLE = "Demo show: tomorrow's sneaker unboxing"
PLAYLIST = "/media/shows/demo-show/live.m3u8"  # index.m3u8 played as a live stream


def make_demo_video(target: Path, *, seconds: int = 10) -> bool:
    """Encode a test pattern with a tone into HLS (2 s segments); False when ffmpeg is missing."""
    if (target / "index.m3u8").is_file():
        return True
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return False
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=640x360:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-shortest",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            "0",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(target / "seg%03d.ts"),
            str(target / "index.m3u8"),
        ],
        check=True,
        timeout=120,
    )
    return True


class Command(BaseCommand):
    help = "Create (or refresh) a live demo show with a local HLS video, a pinned wearable and a flash drop."

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug="mintdrop-demo").first()
        if merchant is None:
            call_command("seed_demo")
            merchant = Merchant.objects.get(slug="mintdrop-demo")
        video = make_demo_video(Path(settings.SHOWS_MEDIA_DIR) / "shows" / "demo-show")
        if not video:
            self.stderr.write("ffmpeg not found (run `ops/install ffmpeg`): the demo show has no video")
        show = Show.objects.filter(merchant=merchant, title=TITLE, state=ShowState.LIVE).first()
        if show is None:
            show = lifecycle.create_show(
                merchant_id=merchant.pk,
                title=TITLE,
                description="A 10-second test pattern on a loop stands in for the host's camera.",
                playback_url=PLAYLIST,
                scheduled_at=timezone.now(),
                cover_image_url=demo_media_path("show-cover.svg"),
            )
            lifecycle.go_live(show_id=show.pk, merchant_id=merchant.pk)
        elif show.playback_url.endswith("/demo-show/index.m3u8"):  # seeded before the live playlist
            Show.objects.filter(pk=show.pk).update(playback_url=PLAYLIST)
        # One upcoming show too, so the storefront's "Upcoming shows" is not empty.
        if not Show.objects.filter(
            merchant=merchant, state=ShowState.SCHEDULED, scheduled_at__gt=timezone.now()
        ).exists():
            lifecycle.create_show(
                merchant_id=merchant.pk,
                title=UPCOMING_TITLE,
                description="The host opens the Genesis sneaker box live; a flash drop follows.",
                playback_url=PLAYLIST,
                scheduled_at=timezone.now() + timedelta(days=1),
                cover_image_url=demo_media_path("show-cover.svg"),
            )
        wearable = (
            Product.objects.filter(
                merchant=merchant, kind="digital", metadata_template__has_key="animation_url"
            )
            .order_by("pk")
            .first()
        )
        if wearable is not None:
            show.refresh_from_db()
            running = show.flash_drop is not None and show.flash_drop.state in (
                DropState.LIVE,
                DropState.SOLD_OUT,
            )
            if not running:
                flash.launch_flash_drop(
                    show_id=show.pk,
                    merchant_id=merchant.pk,
                    spec=flash.FlashDropSpec(
                        product_id=wearable.pk,
                        quantity=25,
                        per_buyer_limit=1,
                        duration_seconds=int(timedelta(hours=2).total_seconds()),
                    ),
                )
            elif show.pinned_product_id is None:
                pins.pin_product(show_id=show.pk, merchant_id=merchant.pk, product_id=wearable.pk)
        self.stdout.write(
            f"demo show ready: /shows/{show.pk}/ (host console /console/{merchant.pk}/shows/{show.pk}/, "
            f"login demo-merchant); video {'ok' if video else 'missing'} at {PLAYLIST}"
        )
