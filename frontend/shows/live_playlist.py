"""The demo show's video as a *live* HLS playlist that carries EXT-X-PROGRAM-DATE-TIME.

`seed_demo_show` encodes a 10 s test pattern as a VOD playlist (`index.m3u8` + segments). A live
encoder stamps each segment with the wall-clock time it was captured (EXT-X-PROGRAM-DATE-TIME);
players use it to tell where their playhead is in real time, which is what lets the show page put
pins, flash drops and auction clocks on the video's clock. Here the same segments loop forever on a
grid anchored at the Unix epoch: segment k of the endless stream is file k mod n, captured at
`ANCHOR + k // n * loop + offset(k mod n)`; the playlist is the sliding window of the last WINDOW segments
whose capture has ended by `now` (server time), with a discontinuity at each loop start.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

WINDOW = 30  # segments in the live window (60 s of 2 s segments): room to be behind live and seek back
# Where segment 0 of the endless stream starts. Not the Unix epoch: with media sequence ~9e8 and
# discontinuity sequence ~1.8e8 hls.js 1.7 never started playback; from this anchor (~1.6e7
# segments a year) it plays. Every process computes the same playlist from it.
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float


def parse_vod(text: str) -> list[Segment]:
    """The segments (URI, EXTINF duration) of a media playlist, in order."""
    segments: list[Segment] = []
    duration: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append(Segment(line, duration))
            duration = None
    return segments


def _pdt(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def live_playlist(
    segments: list[Segment], *, now: datetime, window: int = WINDOW, anchor: float = ANCHOR
) -> str:
    """The live window at server time `now` over `segments` looped forever (see module docstring)."""
    if not segments:
        raise ValueError("a live playlist needs at least one segment")
    n = len(segments)
    offsets = [sum(s.duration for s in segments[:i]) for i in range(n)]
    loop = offsets[-1] + segments[-1].duration
    t = now.timestamp() - anchor
    cycle = math.floor(t / loop)
    done_in_cycle = sum(1 for i in range(n) if offsets[i] + segments[i].duration <= t - cycle * loop)
    last = cycle * n + done_in_cycle - 1  # the newest segment whose capture has ended
    first = max(0, last - window + 1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{math.ceil(max(s.duration for s in segments))}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        # Segment k follows k // n loop starts; the first one's count is stated here, not tagged.
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{first // n}",
    ]
    for k in range(first, last + 1):
        i = k % n
        if i == 0 and k != first:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(anchor + k // n * loop + offsets[i])}")
        lines.append(f"#EXTINF:{segments[i].duration:.3f},")
        lines.append(segments[i].uri)
    return "\n".join(lines) + "\n"
