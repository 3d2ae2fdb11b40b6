"""The demo stream as a live HLS playlist: a sliding window stamped with EXT-X-PROGRAM-DATE-TIME."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.test import Client

from frontend.shows.live_playlist import Segment, live_playlist, parse_vod

VOD = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:2.000000,
seg000.ts
#EXTINF:2.000000,
seg001.ts
#EXTINF:2.000000,
seg002.ts
#EXTINF:2.000000,
seg003.ts
#EXTINF:2.000000,
seg004.ts
#EXT-X-ENDLIST
"""


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(program date time, uri, discontinuity before it) of every segment."""
    out, pdt, disc = [], "", False
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            disc = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line and not line.startswith("#"):
            out.append((pdt, line, disc))
            disc = False
    return out


def _header(text: str, tag: str) -> int:
    return int(next(line for line in text.splitlines() if line.startswith(tag + ":")).split(":", 1)[1])


def test_parse_vod_reads_segments_in_order() -> None:
    assert parse_vod(VOD) == [Segment(f"seg00{i}.ts", 2.0) for i in range(5)]


def test_window_ends_at_the_newest_finished_segment_and_dates_follow_the_loop() -> None:
    now = datetime(2026, 11, 30, 12, 0, 7, 500000, tzinfo=UTC)  # 7.5 s into a 10 s loop
    text = live_playlist(parse_vod(VOD), now=now, window=6)
    entries = _entries(text)
    assert "#EXT-X-ENDLIST" not in text and len(entries) == 6
    dates = [datetime.fromisoformat(pdt.replace("Z", "+00:00")) for pdt, _, _ in entries]
    assert dates[-1] == datetime(2026, 11, 30, 12, 0, 4, tzinfo=UTC)  # [4 s, 6 s) ended; [6, 8) has not
    assert all(b - a == timedelta(seconds=2) for a, b in pairwise(dates))
    assert [uri for _, uri, _ in entries] == [
        "seg002.ts",
        "seg003.ts",
        "seg004.ts",
        "seg000.ts",
        "seg001.ts",
        "seg002.ts",
    ]
    assert [disc for _, _, disc in entries] == [False, False, False, True, False, False]  # the loop restarts


def test_consecutive_playlists_agree_on_sequence_dates_and_discontinuities() -> None:
    segments = parse_vod(VOD)
    t0 = datetime(2026, 11, 30, 12, 0, 9, tzinfo=UTC)
    before, after = (live_playlist(segments, now=t0 + timedelta(seconds=s), window=4) for s in (0, 6))
    first_before, first_after = (
        _header(before, "#EXT-X-MEDIA-SEQUENCE"),
        _header(after, "#EXT-X-MEDIA-SEQUENCE"),
    )
    assert first_after - first_before == 3  # three 2 s segments later
    # The same segment (by media sequence) has the same date and discontinuity number in both.
    shared = _entries(before)[3]
    assert _entries(after)[0][:2] == shared[:2]
    disc_before = _header(before, "#EXT-X-DISCONTINUITY-SEQUENCE") + sum(
        d for _, _, d in _entries(before)[:4]
    )
    assert _header(after, "#EXT-X-DISCONTINUITY-SEQUENCE") == disc_before


def test_live_playlist_is_served_next_to_the_vod_and_never_cached(tmp_path: Path, settings: Any) -> None:
    settings.SHOWS_MEDIA_DIR = str(tmp_path)
    (tmp_path / "shows" / "demo").mkdir(parents=True)
    (tmp_path / "shows" / "demo" / "index.m3u8").write_text(VOD)
    response = Client().get("/media/shows/demo/live.m3u8")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "#EXT-X-PROGRAM-DATE-TIME:" in response.content.decode()
    assert Client().get("/media/shows/missing/live.m3u8").status_code == 404
