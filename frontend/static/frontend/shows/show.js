/* Live show page (viewer and host): one WebSocket (/ws/shows/<id>/) carrying two numbered streams,
   `show.<id>` (state, pins, flash drops, chat) and `drop.<id>` of the current flash drop (stock),
   plus seq-less presence / reactions frames. Chat text is always rendered as text, never as HTML.
   Buy in place: reserve -> order -> pay (demo card) through the JSON API, without leaving the page. */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const STATE_LABELS = { scheduled: "Upcoming", live: "Live", ended: "Ended" };
  const DROP_LABELS = { scheduled: "Upcoming", live: "Flash drop", paused: "Paused", sold_out: "Sold out", ended: "Ended" };

  function $(root, sel) { return root.querySelector(sel); }
  function setText(el, text) { if (el) el.textContent = text; }

  class ShowSocket {
    constructor(path, onFrame, onStatus) {
      const base = (document.body.dataset.wsUrl || "").replace(/\/$/, "") ||
        (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
      this.url = base + path;
      this.onFrame = onFrame;
      this.onStatus = onStatus;
      this.seqs = {};
      this.attempt = 0;
      this.open();
    }
    open() {
      this.seqs = {};  // every (re)connect starts with fresh snapshots
      this.onStatus(this.attempt ? "reconnecting" : "connecting");
      const ws = (this.ws = new WebSocket(this.url, ["mintdrop.v1"]));
      ws.onopen = () => { this.attempt = 0; this.onStatus("live"); };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        if (ev.code === 4404 || ev.code === 4401 || ev.code === 4403) { this.onStatus("closed"); return; }
        this.attempt += 1;
        const backoff = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
        this.onStatus("reconnecting");
        setTimeout(() => this.open(), backoff + Math.random() * 0.3 * backoff);
      };
    }
    receive(text) {
      let frame;
      try { frame = JSON.parse(text); } catch (e) { return; }
      this.apply(frame);
    }
    apply(frame) {
      // Chat that arrived within one batching window: the unchanged chat frames, each with its own seq.
      if (frame.type === "chat_batch" && Array.isArray(frame.frames)) { frame.frames.forEach((f) => this.apply(f)); return; }
      if (typeof frame.seq === "number" && frame.stream) {
        const last = this.seqs[frame.stream];
        if (frame.type !== "snapshot" && last !== undefined && frame.seq <= last) return;  // seen already
        this.seqs[frame.stream] = frame.seq;
      }
      this.onFrame(frame);
    }
    send(obj) {
      if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify(obj)); return true; }
      return false;
    }
  }

  M.ShowSocket = ShowSocket;  // the 3D venue (venue.js) reads the venue feed through it

  class ShowPage {
    constructor(root) {
      this.root = root;
      this.showId = Number(root.dataset.showId);
      this.host = root.dataset.role === "host";
      this.merchantId = root.dataset.merchantId;
      this.loggedIn = root.dataset.loggedIn === "true";
      this.you = {};
      this.pinned = null;
      this.flash = null;
      this.salesBase = {};  // drop id -> {units_sold, revenue}
      this.refs = 0;
      this.pendingRefs = {};
      // Viewers see show events when their video reaches them (videoclock.js); the host acts live.
      const video = document.getElementById("show-player");
      this.gate = !this.host && M.FrameGate && video && video.tagName === "VIDEO"
        ? new M.FrameGate(new M.VideoClock(video), (f) => this.apply(f), root) : null;
      this.socket = new ShowSocket("/ws/shows/" + this.showId + "/", (f) => (this.gate ? this.gate.push(f) : this.apply(f)),
        M.bindStatus($(root, "[data-conn]")));
      this.bind();
      startVideo();
    }

    bind() {
      const r = this.root;
      r.querySelectorAll("[data-react]").forEach((b) => b.addEventListener("click", () => this.socket.send({ type: "react", reaction: b.dataset.react })));
      const form = $(r, "[data-chat-form]");
      if (form) form.addEventListener("submit", (e) => { e.preventDefault(); this.sendChat(); });
      const buy = $(r, "[data-buy]");
      if (buy) buy.addEventListener("click", () => this.buy(buy));
      const list = $(r, "[data-chat-list]");
      list.addEventListener("click", (e) => {
        const btn = e.target.closest("[data-mod]");
        if (!btn) return;
        const li = btn.closest("[data-message-id]");
        if (btn.dataset.mod === "delete") this.socket.send({ type: "delete", message_id: Number(li.dataset.messageId), ref: this.ref() });
        if (btn.dataset.mod === "mute") this.socket.send({ type: "mute", user_id: Number(li.dataset.userId), ref: this.ref() });
      });
      if (this.host) this.bindHost();
    }

    ref() { this.refs += 1; return "r" + this.refs; }

    // --- frames ---------------------------------------------------------------------------------
    apply(f) {
      // Other panels of the page (auctions: frontend/auctions/auction.js) see every frame first.
      if ((M.showFrameHooks || []).some((hook) => hook(f, this.socket))) return;
      const isDrop = f.stream && f.stream.startsWith("drop.");
      if (f.type === "you") { this.you = f; this.renderChatBox(); return; }
      if (f.type === "error") { this.showError(f); return; }
      if (f.type === "ack") { this.acked(f); return; }
      if (f.type === "presence") { this.setViewers(f.viewers); return; }
      if (f.type === "reactions") { this.showReactions(f.counts); return; }
      if (isDrop) { this.applyDrop(f); return; }
      switch (f.type) {
        case "snapshot":
          if (f.server_time) M.countdowns.offsetMs = Date.parse(f.server_time) - Date.now();
          this.setState(f.show.state);
          this.setPinned(f.pinned);
          this.setFlash(f.flash_drop);
          (f.sales && f.sales.drops || []).forEach((d) => { this.salesBase[d.drop_id] = d; });
          if (typeof f.viewers === "number") this.setViewers(f.viewers);
          this.resetChat(f.messages || []);
          break;
        case "show_state": this.setState(f.state); break;
        case "pinned": this.setPinned(f.product); break;
        case "unpinned": if (this.pinned && this.pinned.product_id === f.product_id) this.setPinned(null); break;
        case "flash_drop": this.setFlash(f.flash_drop); break;
        case "chat": this.addMessage(f.message); break;
        case "chat_deleted": this.removeMessage(f.message_id); break;
        case "muted": if (this.you.user_id === f.user_id) { this.you.muted = true; this.renderChatBox(); } break;
        case "unmuted": if (this.you.user_id === f.user_id) { this.you.muted = false; this.renderChatBox(); } break;
      }
      this.renderSales();
    }

    applyDrop(f) {
      if (!this.flash || f.stream !== "drop." + this.flash.drop_id) {
        if (f.type !== "snapshot" || !f.flash_drop) return;
      }
      if (f.type === "snapshot") this.setFlash(f.flash_drop);
      else if (f.type === "stock") { (f.skus || []).forEach((s) => this.setSku(s)); this.renderFlash(); }
      else if (f.type === "drop_state") { this.flash.state = f.state; this.flash.countdown_to = f.countdown_to; this.renderFlash(); }
      this.renderSales();
    }

    setState(state) {
      this.state = state;
      const el = $(this.root, "[data-show-state]");
      if (el) { el.textContent = STATE_LABELS[state] || state; el.className = "badge " + (state === "live" ? "live" : state); el.dataset.state = state; }
    }

    setViewers(n) {
      setText($(this.root, "[data-viewers]"), String(n));
      setText($(this.root, '[data-kpi="viewers"]'), String(n));
    }

    showReactions(counts) {
      const icons = { heart: "❤️", fire: "🔥", clap: "👏", laugh: "😂", wow: "😮" };
      setText($(this.root, "[data-reactions]"), Object.entries(counts).map(([k, v]) => (icons[k] || k) + " " + v).join("  "));
    }

    setPinned(card) {
      this.pinned = card;
      const box = $(this.root, "[data-pinned]");
      box.hidden = !card;
      box.dataset.productId = card ? card.product_id : "";
      if (card) {
        setText($(box, "[data-pinned-title]"), card.title);
        setText($(box, "[data-pinned-kind]"), card.kind);
        const sku = (card.skus || [])[0];
        setText($(box, "[data-pinned-price]"), sku ? M.api.money(sku.price, sku.currency) : "");
        const img = $(box, "[data-pinned-image]");
        img.hidden = !card.image;
        if (card.image) img.src = card.image; else img.removeAttribute("src");
        const model = $(box, "[data-pinned-3d]");
        model.hidden = !card.animation_url;
        if (card.animation_url) $(box, "[data-pinned-3d-link]").href = card.animation_url;
      }
      this.renderSales();
    }

    setFlash(flash) {
      if (flash && this.flash && flash.drop_id === this.flash.drop_id && flash.skus) {
        Object.assign(this.flash, flash);
      } else {
        this.flash = flash ? Object.assign({}, flash) : null;
      }
      this.renderFlash();
    }

    setSku(s) {
      if (!this.flash) return;
      const row = (this.flash.skus || []).find((x) => x.sku_id === s.sku_id);
      if (row) Object.assign(row, s); else (this.flash.skus = this.flash.skus || []).push(s);
    }

    renderFlash() {
      const box = $(this.root, "[data-flash]");
      const f = this.flash;
      box.hidden = !f;
      if (!f) return;
      box.dataset.dropId = f.drop_id;
      const sku = (f.skus || [])[0] || { available: 0, offered: 0 };
      box.dataset.state = f.state;
      setText($(box, "[data-flash-state]"), DROP_LABELS[f.state] || f.state);
      setText($(box, "[data-flash-title]"), this.pinned && this.pinned.product_id === f.product_id ? this.pinned.title : "Flash drop");
      setText($(box, "[data-flash-available]"), String(sku.available));
      setText($(box, "[data-flash-offered]"), String(sku.offered));
      $(box, "[data-flash-bar]").style.width = (sku.offered ? Math.round((100 * sku.available) / sku.offered) : 0) + "%";
      const soldOut = sku.available <= 0 || f.state === "sold_out";
      $(box, "[data-flash-soldout]").hidden = !soldOut;
      $(box, "[data-flash-countdown]").dataset.countdownTo = f.countdown_to || "";
      setText($(box, "[data-flash-countdown-label]"), f.countdown_to ? "Ends in" : "");
      const buy = $(box, "[data-buy]");
      if (buy && !buy.classList.contains("busy")) {
        let reason = "";
        if (f.state !== "live") reason = DROP_LABELS[f.state] || "Closed";
        else if (soldOut) reason = "Sold out";
        buy.disabled = !!reason || this.bought === f.drop_id;
        setText($(buy, "[data-buy-label]"), reason || (this.bought === f.drop_id ? "Bought" : this.loggedIn ? "Buy now" : "Log in to buy"));
      }
      M.countdowns.tick();
      this.renderSales();
    }

    renderSales() {
      if (!this.host) return;
      const per = Object.assign({}, this.salesBase);
      if (this.flash && this.flash.skus) {
        per[this.flash.drop_id] = {
          units_sold: this.flash.skus.reduce((n, s) => n + (s.sold || 0), 0),
          revenue: this.flash.skus.reduce((n, s) => n + (s.sold || 0) * (s.price || 0), 0),
        };
      }
      const rows = Object.values(per);
      const currency = this.flash && this.flash.skus && this.flash.skus[0] ? this.flash.skus[0].currency : "usd";
      setText($(this.root, '[data-kpi="units_sold"]'), String(rows.reduce((n, r) => n + r.units_sold, 0)));
      setText($(this.root, '[data-kpi="revenue"]'), M.api.money(rows.reduce((n, r) => n + r.revenue, 0), currency));
      const pinnedInFlash = this.pinned && this.flash && this.flash.product_id === this.pinned.product_id && this.flash.skus;
      setText($(this.root, '[data-kpi="pinned_stock"]'), pinnedInFlash ? String(this.flash.skus.reduce((n, s) => n + s.available, 0)) : "–");
    }

    // --- chat -----------------------------------------------------------------------------------
    resetChat(messages) {
      const list = $(this.root, "[data-chat-list]");
      list.replaceChildren();
      messages.forEach((m) => this.addMessage(m));
    }

    addMessage(m) {
      const list = $(this.root, "[data-chat-list]");
      if (list.querySelector('[data-message-id="' + Number(m.id) + '"]')) return;
      const li = document.createElement("li");
      li.dataset.messageId = String(m.id);
      li.dataset.userId = String(m.user_id);
      if (m.role === "host") li.className = "host";
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = m.username;  // text, never HTML
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      li.append(who, text);
      if (this.you.is_host && m.role !== "host") {
        for (const [mod, label] of [["delete", "Delete"], ["mute", "Mute"]]) {
          const b = document.createElement("button");
          b.type = "button"; b.className = "link mod"; b.dataset.mod = mod; b.textContent = label;
          b.setAttribute("aria-label", label + " message from " + m.username);
          li.append(b);
        }
      }
      list.append(li);
      while (list.children.length > 200) list.firstElementChild.remove();
      list.scrollTop = list.scrollHeight;
    }

    removeMessage(id) {
      const li = $(this.root, '[data-chat-list] [data-message-id="' + Number(id) + '"]');
      if (li) li.remove();
    }

    renderChatBox() {
      const input = $(this.root, "[data-chat-input]");
      if (!input) return;
      input.placeholder = this.you.muted ? "The host muted you in this show" : "Say something…";
      this.root.dataset.muted = this.you.muted ? "true" : "false";
    }

    sendChat() {
      const input = $(this.root, "[data-chat-input]");
      const text = input.value;
      if (!text.trim()) return;
      const ref = this.ref();
      this.pendingRefs[ref] = "chat";
      setText($(this.root, "[data-chat-error]"), "");
      if (!this.socket.send({ type: "chat", text, ref })) this.showError({ code: "network_error", message: "Not connected", ref });
    }

    acked(f) {
      if (this.pendingRefs[f.ref] === "chat") { $(this.root, "[data-chat-input]").value = ""; }
      delete this.pendingRefs[f.ref];
    }

    showError(f) {
      const el = $(this.root, "[data-chat-error]");
      if (!el) return;
      el.textContent = M.api.friendly(f);
      el.dataset.code = f.code || "";
      delete this.pendingRefs[f.ref];
    }

    // --- buy in place -----------------------------------------------------------------------------
    async buy(btn) {
      if (!this.loggedIn) { location.href = this.root.dataset.loginUrl; return; }
      const f = this.flash;
      if (!f || !f.skus || !f.skus.length) return;
      const status = $(this.root, "[data-buy-status]");
      const done = await M.api.withBusy(btn, $(this.root, "[data-buy-error]"), async () => {
        setText(status, "Reserving…");
        const res = await M.api.request("POST", "/api/v1/reservations/",
          { drop_id: f.drop_id, sku_id: f.skus[0].sku_id, quantity: 1 }, { idempotencyKey: M.api.newKey() });
        setText(status, "Placing the order…");
        let order;
        try {
          order = await M.api.request("POST", "/api/v1/shows/" + this.showId + "/checkout/", { reservation_id: res.id });
        } catch (err) {
          // Something in it ships: the item stays reserved in the cart, where the address form is.
          if (err.code === "shipping_address_required") { location.href = this.root.dataset.cartUrl + "#shipping"; }
          throw err;
        }
        setText(status, "Paying with the test card…");
        await M.api.request("POST", "/api/v1/orders/" + order.order_id + "/pay/");
        await M.api.request("POST", "/api/v1/orders/" + order.order_id + "/pay/demo-confirm/", { outcome: "succeeded" });
        return order;
      });
      if (done) {
        this.bought = f.drop_id;
        status.replaceChildren();
        const a = document.createElement("a");
        a.href = "/orders/" + done.order_id + "/";
        a.textContent = "order #" + done.order_id;
        status.append("Paid — ", a, ". Keep watching!");
        status.dataset.orderId = String(done.order_id);
      } else {
        setText(status, "");
      }
      this.renderFlash();
    }

    // --- host controls ---------------------------------------------------------------------------
    bindHost() {
      const r = this.root;
      const err = $(r, "[data-host-error]");
      const call = (btn, action, body) => M.api.withBusy(btn, err, async () => {
        await M.api.request("POST", "/api/v1/merchants/" + this.merchantId + "/shows/" + this.showId + "/" + action + "/", body);
        const ok = $(r, "[data-host-ok]");
        ok.hidden = false;
        ok.textContent = { live: "You are live.", end: "Show ended.", pin: "Pinned.", unpin: "Unpinned.", "flash-drops": "Flash drop launched." }[action] || "Done.";
      });
      r.querySelectorAll("[data-host-action]").forEach((b) => b.addEventListener("click", () => call(b, b.dataset.hostAction)));
      $(r, "[data-pin-form]").addEventListener("submit", (e) => {
        e.preventDefault();
        call($(r, "[data-pin]"), "pin", { product_id: Number($(r, "[data-pin-product]").value) });
      });
      $(r, "[data-flash-form]").addEventListener("submit", (e) => {
        e.preventDefault();
        const form = e.target;
        call($(r, "[data-launch]"), "flash-drops", {
          quantity: Number(form.quantity.value), per_buyer_limit: Number(form.per_buyer_limit.value),
          duration_seconds: Number(form.duration_seconds.value),
        });
      });
    }
  }

  function startVideo() {
    const video = document.getElementById("show-player");
    if (!video || !video.dataset.hlsSrc) return;
    const src = video.dataset.hlsSrc;
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ liveDurationInfinity: true });
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => { video.dataset.ready = "true"; video.play().catch(() => {}); });
      M.hls = hls;
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;  // Safari plays HLS natively
      video.addEventListener("loadedmetadata", () => { video.dataset.ready = "true"; });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("show");
    if (root) M.showPage = new ShowPage(root);
  });
})();
