/* LiveStream: one WebSocket stream of the realtime protocol (realtime/ws/protocol.py).
   - the first frame is a snapshot; every frame carries a strictly increasing `seq`;
   - frames not above the last applied seq are ignored (duplicates after a resume);
   - on a drop it reconnects by itself with backoff + jitter and asks for what it missed
     (`?last_seq=n`; the server answers with the missed frames or a fresh snapshot);
   - an idle socket pings; a `pong` whose head is ahead of us triggers a resume;
   - close codes 4401/4403/4404 are final (not signed in, not allowed, no such stream). */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const FINAL_CODES = { 4401: "unauthenticated", 4403: "forbidden", 4404: "not_found" };

  class LiveStream {
    constructor(path, handlers) {
      const base = (document.body.dataset.wsUrl || "").replace(/\/$/, "") ||
        (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
      this.url = base + path;
      this.h = handlers || {};
      this.lastSeq = null;
      this.attempt = 0;
      this.ws = null;
      this.stopped = false;
      this.pingTimer = null;
      this.lastMessageAt = 0;
      this.open();
      // Phones put tabs to sleep: reconnect at once when the page becomes visible again.
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible" && !this.stopped && (!this.ws || this.ws.readyState > 1)) this.open();
      });
      window.addEventListener("online", () => { if (!this.stopped) this.reconnectSoon(0); });
    }

    status(state, detail) {
      this.state = state;
      if (this.h.onStatus) this.h.onStatus(state, detail);
    }

    open() {
      clearTimeout(this.retryTimer);
      const url = this.lastSeq === null ? this.url : this.url + (this.url.includes("?") ? "&" : "?") + "last_seq=" + this.lastSeq;
      this.status(this.attempt ? "reconnecting" : "connecting");
      let ws;
      try {
        ws = new WebSocket(url, ["mintdrop.v1"]);
      } catch (e) {
        this.reconnectSoon();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this.lastMessageAt = Date.now();
        this.status("live");
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.keepAlive(), 15000);
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        clearInterval(this.pingTimer);
        if (this.ws !== ws) return;
        if (FINAL_CODES[ev.code]) {
          this.stopped = true;
          this.status("closed", FINAL_CODES[ev.code]);
          return;
        }
        if (!this.stopped) this.reconnectSoon();
      };
      ws.onerror = () => { /* onclose follows and reconnects */ };
    }

    reconnectSoon(delay) {
      if (this.stopped) return;
      this.attempt += 1;
      const backoff = delay !== undefined ? delay : Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
      const jitter = Math.random() * 0.3 * backoff;
      this.status("reconnecting");
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.open(), backoff + jitter);
    }

    keepAlive() {
      if (!this.ws || this.ws.readyState !== 1) return;
      if (Date.now() - this.lastMessageAt > 45000) {  // half-open connection: start over
        this.ws.close();
        return;
      }
      this.send({ type: "ping" });
    }

    send(obj) {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj));
    }

    receive(text) {
      this.lastMessageAt = Date.now();
      let frame;
      try { frame = JSON.parse(text); } catch (e) { return; }
      if (frame.type === "error") {
        if (this.h.onError) this.h.onError(frame);
        return;
      }
      if (frame.type === "pong") {
        if (typeof frame.head === "number" && this.lastSeq !== null && frame.head > this.lastSeq) {
          this.send({ type: "resume", last_seq: this.lastSeq });
        }
        return;
      }
      const seq = typeof frame.seq === "number" ? frame.seq : null;
      if (frame.type === "snapshot") {
        if (seq !== null && this.lastSeq !== null && seq < this.lastSeq) return;  // stale snapshot
      } else if (seq !== null && this.lastSeq !== null && seq <= this.lastSeq) {
        return;  // already applied
      }
      if (seq !== null) this.lastSeq = seq;
      if (this.h.onFrame) this.h.onFrame(frame);
    }

    close() {
      this.stopped = true;
      clearInterval(this.pingTimer);
      clearTimeout(this.retryTimer);
      if (this.ws) this.ws.close();
    }
  }

  /** Show a stream's connection state in `el` (a polite live region). */
  function bindStatus(el) {
    const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Disconnected" };
    return (state, detail) => {
      if (!el) return;
      el.dataset.state = state;
      el.textContent = labels[state] + (detail ? " (" + detail.replace("_", " ") + ")" : "");
    };
  }

  /** Countdowns: elements with data-countdown-to (ISO). `offsetMs` = server time - local time. */
  const countdowns = { offsetMs: 0 };
  function formatLeft(ms) {
    if (ms <= 0) return "0:00";
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mmss = String(m).padStart(h || d ? 2 : 1, "0") + ":" + String(sec).padStart(2, "0");
    return (d ? d + "d " : "") + (h || d ? h + ":" : "") + mmss;
  }
  function tick() {
    const now = Date.now() + countdowns.offsetMs;
    document.querySelectorAll("[data-countdown-to]").forEach((el) => {
      const to = Date.parse(el.dataset.countdownTo);
      if (!to) { el.textContent = el.dataset.empty || ""; return; }
      const left = to - now;
      el.textContent = left > 0 ? formatLeft(left) : (el.dataset.done || "0:00");
      el.dataset.expired = left <= 0 ? "true" : "false";
    });
  }
  setInterval(tick, 250);
  document.addEventListener("DOMContentLoaded", tick);
  countdowns.tick = tick;
  countdowns.format = formatLeft;

  M.LiveStream = LiveStream;
  M.bindStatus = bindStatus;
  M.countdowns = countdowns;
})();
