/* Live auctions and giveaways on the show page (viewer and host). Rides on the show socket of show.js:
   `auction`, `outbid` and `giveaway` frames come through M.showFrameHooks; bids and giveaway entries go
   out on the same socket (REST when it is down). Prices are minor units; clocks are server time. */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const STATE = { scheduled: "Upcoming", open: "Live auction", closed: "Sold", paid: "Sold", passed: "Not sold" };
  function $(root, sel) { return root.querySelector(sel); }
  function setText(el, text) { if (el) el.textContent = text; }
  function money(a, cur) { return a === null || a === undefined ? "–" : M.api.money(a, cur); }

  class AuctionPanel {
    constructor(root) {
      this.root = root;
      this.page = $(document, "#show");
      this.host = this.page.dataset.role === "host";
      this.merchantId = this.page.dataset.merchantId;
      this.showId = Number(this.page.dataset.showId);
      this.auction = null;
      this.giveaway = null;
      this.me = null;
      this.refs = 0;
      this.socket = null;
      this.paid = {};
      (M.showFrameHooks = M.showFrameHooks || []).push((f, socket) => this.frame(f, socket));
      this.bind();
    }

    bind() {
      const form = $(this.root, "[data-bid-form]");
      if (form) form.addEventListener("submit", (e) => { e.preventDefault(); this.bid(); });
      const pay = $(this.root, "[data-auction-pay]");
      if (pay) pay.addEventListener("click", () => this.pay(pay));
      const enter = $(this.root, "[data-giveaway-enter]");
      if (enter) enter.addEventListener("click", () => this.send({ type: "giveaway_enter", giveaway_id: this.giveaway && this.giveaway.id }));
      const start = $(this.root, "[data-auction-start-form]");
      if (start) start.addEventListener("submit", (e) => { e.preventDefault(); this.start(e.target); });
      const open = $(this.root, "[data-giveaway-open-form]");
      if (open) open.addEventListener("submit", (e) => { e.preventDefault(); this.hostCall($(open, "button"), "/shows/" + this.showId + "/giveaways/", { title: open.title.value }); });
      const draw = $(this.root, "[data-giveaway-draw]");
      if (draw) draw.addEventListener("click", () => this.giveaway && this.hostCall(draw, "/giveaways/" + this.giveaway.id + "/draw/"));
    }

    // --- frames from the show socket; true = handled here -----------------------------------------
    frame(f, socket) {
      this.socket = socket;
      if (f.type === "you") { this.me = f; this.render(); return false; }
      if (f.type === "snapshot" && f.show) {
        if (f.auction !== undefined) this.setAuction(f.auction);
        if (f.giveaway !== undefined) this.setGiveaway(f.giveaway);
        return false;
      }
      if (f.type === "auction") { this.setAuction(f.auction); return true; }
      if (f.type === "giveaway") { this.setGiveaway(f.giveaway); return true; }
      if (f.type === "outbid") { this.outbid(f); return true; }
      if ((f.type === "ack" || f.type === "error") && typeof f.ref === "string" && f.ref.startsWith("auc")) {
        if (f.type === "error") this.error(f); else this.acked(f);
        return true;
      }
      return false;
    }

    send(body) {
      this.refs += 1;
      body.ref = "auc" + this.refs;
      if (this.socket && this.socket.send(body)) return;
      this.error({ code: "network_error", message: "Not connected — reconnecting…" });
    }

    setAuction(a) {
      const prev = this.auction;
      if (a && prev && a.id === prev.id && a.bids < prev.bids && a.state === prev.state) return;  // older
      this.auction = a;
      if (a && prev && a.id === prev.id && a.extensions > prev.extensions) this.flash("[data-auction-extended]");
      if (a && a.server_time) M.countdowns.offsetMs = Date.parse(a.server_time) - Date.now();
      this.render();
      if (this.host && a) this.loadBids();
    }

    render() {
      const a = this.auction;
      const card = $(this.root, "[data-auction]");
      if (!card) return;
      card.hidden = !a;
      if (!a) return;
      card.dataset.state = a.state;
      card.dataset.auctionId = String(a.id);
      setText($(card, "[data-auction-state]"), STATE[a.state] || a.state);
      setText($(card, "[data-auction-title]"), a.title);
      setText($(card, "[data-auction-current]"), money(a.current_bid, a.currency));
      $(card, "[data-auction-current]").dataset.amount = String(a.current_bid || "");
      setText($(card, "[data-auction-bids]"), String(a.bids));
      setText($(card, "[data-auction-leader]"), a.leader || "–");
      setText($(card, "[data-auction-next]"), money(a.next_bid, a.currency));
      const clock = $(card, "[data-auction-countdown]");
      clock.dataset.countdownTo = a.state === "open" && a.ends_at ? a.ends_at : "";
      if (a.state !== "open") setText(clock, "");
      const input = $(card, "[data-bid-amount]");
      if (input && (document.activeElement !== input || !input.value || Number(input.value) * 100 < a.next_bid)) {
        input.value = (a.next_bid / 100).toFixed(2);
      }
      const form = $(card, "[data-bid-form]");
      if (form) form.hidden = a.state !== "open";
      const mine = this.me && this.me.username;
      const result = $(card, "[data-auction-result]");
      let text = "";
      if (a.state === "closed" || a.state === "paid") {
        text = (a.winner === mine ? "You won" : "Sold to " + a.winner) + " for " + money(a.current_bid, a.currency) + (a.state === "paid" ? " — paid." : ".");
      } else if (a.state === "passed") {
        text = "Not sold" + ({ no_bids: " (no bids)", reserve_not_met: " (reserve not met)", unpaid: " (not paid in time)" }[a.result] || "") + ".";
      } else if (a.state === "open" && mine && a.leader === mine) {
        text = "You are the highest bidder.";
      }
      setText(result, text);
      result.dataset.result = a.state;
      const pay = $(card, "[data-auction-pay]");
      if (pay) pay.hidden = !(a.state === "closed" && mine && a.winner === mine && !this.paid[a.id]);
      if (a.state !== "open") { const o = $(card, "[data-auction-outbid]"); if (o) o.hidden = true; }
    }

    flash(sel) {
      const el = $(this.root, sel);
      if (!el) return;
      el.hidden = false;
      clearTimeout(el._t);
      el._t = setTimeout(() => { el.hidden = true; }, 4000);
    }

    outbid(f) {
      if (!this.auction || f.auction_id !== this.auction.id) return;
      const el = $(this.root, "[data-auction-outbid]");
      setText(el, "You were outbid: " + money(f.amount, this.auction.currency) + ". Bid again?");
      el.hidden = false;
    }

    bid() {
      const a = this.auction;
      if (!a) return;
      if (!this.page.dataset.loggedIn || this.page.dataset.loggedIn !== "true") { location.href = this.page.dataset.loginUrl; return; }
      const raw = $(this.root, "[data-bid-amount]").value.trim();
      const amount = /^\d+(\.\d{1,2})?$/.test(raw) ? Math.round(Number(raw) * 100) : raw;
      this.error(null);
      this.send({ type: "bid", auction_id: a.id, amount: amount });
    }

    acked(f) {
      if (f.auction_id) { const o = $(this.root, "[data-auction-outbid]"); if (o && f.leading) o.hidden = true; }
      if (f.giveaway_id) { setText($(this.root, "[data-giveaway-status]"), "You are in the draw."); }
    }

    error(f) {
      const el = $(this.root, "[data-auction-error]");
      if (!el) return;
      el.textContent = f ? M.api.friendly(f) : "";
      el.dataset.code = f ? f.code || "" : "";
    }

    async pay(btn) {
      const a = this.auction;
      const done = await M.api.withBusy(btn, $(this.root, "[data-auction-error]"), async () => {
        const detail = await M.api.request("GET", "/api/v1/auctions/" + a.id + "/");
        const orderId = detail.you && detail.you.order_id;
        if (!orderId) throw new M.api.ApiError("not_found", "No order to pay.");
        await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/");
        await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/demo-confirm/", { outcome: "succeeded" });
        return orderId;
      });
      if (done) {
        this.paid[a.id] = true;
        const status = $(this.root, "[data-auction-paid]");
        status.replaceChildren();
        const link = document.createElement("a");
        link.href = "/orders/" + done + "/";
        link.textContent = "order #" + done;
        status.append("Paid — ", link, ".");
        this.render();
      }
    }

    setGiveaway(g) {
      this.giveaway = g;
      const card = $(this.root, "[data-giveaway]");
      if (!card) return;
      card.hidden = !g;
      if (!g) return;
      card.dataset.state = g.state;
      setText($(card, "[data-giveaway-title]"), g.title);
      setText($(card, "[data-giveaway-hash]"), g.seed_hash);
      const enter = $(card, "[data-giveaway-enter]");
      if (enter) enter.hidden = g.state !== "open";
      const draw = $(card, "[data-giveaway-draw]");
      if (draw) draw.hidden = g.state !== "open";
      const mine = this.me && this.me.username;
      setText($(card, "[data-giveaway-result]"), g.state === "drawn"
        ? (g.winner === mine ? "You won the giveaway!" : "Winner: " + g.winner) + " (" + g.entrants + " entered)" : "");
      setText($(card, "[data-giveaway-seed]"), g.seed ? "Seed: " + g.seed : "");
    }

    // --- host console --------------------------------------------------------------------------------
    async hostCall(btn, path, body) {
      return M.api.withBusy(btn, $(this.root, "[data-auction-error]"), () =>
        M.api.request("POST", "/api/v1/merchants/" + this.merchantId + path, body || {}));
    }

    start(form) {
      const cents = (v) => Math.round(Number(v) * 100);
      const body = {
        starting_price: cents(form.starting_price.value), duration_seconds: Number(form.duration_seconds.value),
        ending: form.ending.value, anti_snipe_seconds: Number(form.anti_snipe_seconds.value),
      };
      if (form.reserve_price.value) body.reserve_price = cents(form.reserve_price.value);
      this.hostCall($(form, "button"), "/shows/" + this.showId + "/auctions/", body);
    }

    loadBids() {
      if (this.loading) { this.again = true; return; }
      this.loading = true;
      const a = this.auction;
      M.api.request("GET", "/api/v1/merchants/" + this.merchantId + "/auctions/" + a.id + "/").then((d) => {
        const list = $(this.root, "[data-auction-bid-list]");
        if (!list) return;
        list.replaceChildren(...d.recent_bids.slice(0, 15).map((b) => {
          const li = document.createElement("li");
          li.textContent = "#" + b.seq + " " + b.bidder + " " + money(b.amount, d.currency) + (b.kind === "proxy" ? " (max bid)" : "");
          return li;
        }));
      }).catch(() => {}).finally(() => {
        setTimeout(() => { this.loading = false; if (this.again) { this.again = false; this.loadBids(); } }, 500);
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("auction-panel");
    if (root) M.auctionPanel = new AuctionPanel(root);
  });
})();
