/* Show events on the video's clock.

   Every show frame carries the server time of the change it reports (`at`; auction frames
   `server_time`). The live stream stamps its segments with EXT-X-PROGRAM-DATE-TIME, so the player
   knows the wall-clock (server) time of the frame on screen: hls.js's `playingDate`, Safari's
   `video.getStartDate()` + currentTime. A viewer whose video runs N s behind live would see a
   product pinned N s before the host shows it; the gate holds such frames until the playhead's wall
   time reaches the frame's time, and applies them in arrival order (a frame without a time, e.g.
   the drop snapshot a flash launch brings, waits behind the ones before it).
   An auction appears when the video reaches its start; from then on its bids, clock extensions and
   close are shown as they happen (bids are judged on server time, so a bidder must see the real
   price and clock), as is "you were outbid".
   Not held: the show snapshot (current state on joining), chat and moderation, presence,
   reactions, replies. With no program date time (an embedded player, the video not yet playing)
   frames apply at once. Bids are judged on server time, so the page also says how far behind live
   the viewer is. State for tests: #show[data-behind-ms], [data-pending-frames]; `gate.log`. */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const IMMEDIATE = new Set(["snapshot", "you", "ack", "error", "pong", "presence", "reactions",
    "chat", "chat_batch", "chat_deleted", "muted", "unmuted"]);
  const MAX_HOLD_MS = 60000;  // a paused or stalled player does not stall the page for ever
  const LIVE_EDGE_MS = 1500;  // closer than this counts as live

  function frameTime(f) {
    const iso = f.server_time || f.at || (f.auction && f.auction.server_time);
    const ms = iso ? Date.parse(iso) : NaN;
    return Number.isFinite(ms) ? ms : null;
  }

  class VideoClock {
    constructor(video) { this.video = video; this.last = null; }

    /** Server wall time (ms) of the frame on screen, or null while the stream has never said.
        While the player stalls (rebuffering, a seek) the last known time holds: the picture is not
        moving, so neither is what it may show. */
    wallMs() {
      const now = this.read();
      if (now !== null) this.last = now;
      return this.last;
    }

    read() {
      const v = this.video;
      if (!v || v.readyState < 2) return null;
      const hls = M.hls;
      if (hls && hls.media === v) {
        const d = hls.playingDate;
        return d && !Number.isNaN(d.getTime()) ? d.getTime() : null;
      }
      if (typeof v.getStartDate === "function") {
        const start = v.getStartDate().getTime();
        return Number.isNaN(start) ? null : start + v.currentTime * 1000;
      }
      return null;
    }

    /** How far the playhead is behind live (ms, server clock), or null. */
    behindMs() {
      const wall = this.wallMs();
      return wall === null ? null : Math.max(0, Date.now() + M.countdowns.offsetMs - wall);
    }
  }

  class FrameGate {
    constructor(clock, apply, root) {
      this.clock = clock;
      this.apply = apply;
      this.root = root;
      this.queue = [];
      this.shownAuctions = new Set();  // auctions on screen already: their updates are live
      this.log = [];  // held frames: {type, time, arrivedWall, releasedWall, heldMs}
      this.timer = setInterval(() => this.tick(), 100);
    }

    push(frame) {
      if ((IMMEDIATE.has(frame.type) && !(frame.stream && frame.stream.startsWith("drop."))) || this.liveAuction(frame)) {
        if (frame.type === "snapshot") this.dropSupersededBy(frame);
        this.release(frame);
        return;
      }
      const wall = this.clock.wallMs();
      const time = frameTime(frame);
      if (!this.queue.length && (wall === null || time === null || time <= wall)) {
        this.release(frame);
        return;
      }
      this.queue.push({ frame, time, arrived: performance.now(), arrivedWall: wall });
      this.render();
    }

    /** An update of an auction already on screen (none of its frames waiting), or an outbid notice. */
    liveAuction(frame) {
      if (frame.type === "outbid") return true;
      const id = frame.type === "auction" && frame.auction ? frame.auction.id : null;
      return id != null && this.shownAuctions.has(id) &&
        !this.queue.some((q) => q.frame.type === "auction" && q.frame.auction && q.frame.auction.id === id);
    }

    release(frame) {
      if (frame.auction && frame.auction.id != null && (frame.type === "auction" || frame.type === "snapshot")) {
        this.shownAuctions.add(frame.auction.id);
      }
      this.apply(frame);
    }

    /** A fresh show snapshot already holds every held show frame up to its time. */
    dropSupersededBy(snapshot) {
      const at = frameTime(snapshot);
      if (at === null) return;
      this.queue = this.queue.filter((q) => !(q.frame.stream === snapshot.stream && q.time !== null && q.time <= at));
      this.render();
    }

    tick() {
      const wall = this.clock.wallMs();
      while (this.queue.length) {
        const head = this.queue[0];
        const heldMs = performance.now() - head.arrived;
        if (wall !== null && head.time !== null && head.time > wall && heldMs < MAX_HOLD_MS) break;
        this.queue.shift();
        if (head.time !== null) {
          this.log.push({ type: head.frame.type, time: head.time, arrivedWall: head.arrivedWall, releasedWall: wall, heldMs });
          if (this.log.length > 50) this.log.shift();
        }
        this.release(head.frame);
      }
      this.render();
    }

    render() {
      const behind = this.clock.behindMs();
      const el = this.root.querySelector("[data-behind-live]");
      this.root.dataset.pendingFrames = String(this.queue.length);
      if (behind === null) {
        delete this.root.dataset.behindMs;
        if (el) { el.hidden = true; el.textContent = ""; }
        return;
      }
      this.root.dataset.behindMs = String(Math.round(behind));
      if (!el) return;
      el.hidden = false;
      el.dataset.live = behind < LIVE_EDGE_MS ? "true" : "false";
      el.textContent = behind < LIVE_EDGE_MS ? "At the live edge"
        : Math.round(behind / 1000) + " s behind live · bids count on live time";
    }
  }

  M.VideoClock = VideoClock;
  M.FrameGate = FrameGate;
  M.frameTime = frameTime;
})();
