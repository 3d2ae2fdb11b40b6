/* The drop widget: live stock per SKU, drop state + countdown, per-buyer limit, reserve button and
   reservation timer. Any element with [data-drop-widget] becomes one, so other pages (live shows)
   can embed /drops/<id>/widget/ and call Mintdrop.mountDropWidgets(). */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const STATE_LABELS = { scheduled: "Upcoming", live: "Live", paused: "Paused", sold_out: "Sold out", ended: "Ended" };
  const COUNTDOWN_LABELS = { scheduled: "Starts in", live: "Ends in", paused: "Ends in", sold_out: "Ends in" };

  class DropWidget {
    constructor(root) {
      this.root = root;
      this.dropId = Number(root.dataset.dropId);
      this.limit = Number(root.dataset.limit || 1);
      this.held = Number(root.dataset.held || 0);
      this.loggedIn = root.dataset.loggedIn === "true";
      this.state = root.dataset.state;
      this.skus = {};
      this.errorEl = root.querySelector("[data-error]");
      root.querySelectorAll("[data-reserve]").forEach((btn) => btn.addEventListener("click", () => this.reserve(btn)));
      this.stream = new M.LiveStream("/ws/drops/" + this.dropId + "/", {
        onFrame: (f) => this.apply(f),
        onStatus: M.bindStatus(root.querySelector("[data-conn]")),
      });
      this.render();
    }

    apply(frame) {
      if (frame.type === "snapshot") {
        if (frame.server_time) M.countdowns.offsetMs = Date.parse(frame.server_time) - Date.now();
        this.setState(frame.state, frame.countdown_to);
        (frame.skus || []).forEach((s) => this.setSku(s));
      } else if (frame.type === "stock") {
        (frame.skus || []).forEach((s) => this.setSku(s));
      } else if (frame.type === "drop_state") {
        this.setState(frame.state, frame.countdown_to);
      }
      this.render();
    }

    setState(state, countdownTo) {
      this.state = state;
      const badge = this.root.querySelector("[data-drop-state]");
      if (badge) { badge.textContent = STATE_LABELS[state] || state; badge.className = "badge " + state; }
      const cd = this.root.querySelector("[data-countdown]");
      if (cd) cd.dataset.countdownTo = countdownTo || "";
      const label = this.root.querySelector("[data-countdown-label]");
      if (label) label.textContent = countdownTo ? (COUNTDOWN_LABELS[state] || "") : "";
      this.root.dataset.state = state;
    }

    setSku(s) { this.skus[s.sku_id] = Object.assign(this.skus[s.sku_id] || {}, s); }

    render() {
      const left = Math.max(0, this.limit - this.held);
      const heldEl = this.root.querySelector("[data-held]");
      if (heldEl) heldEl.textContent = String(this.held);
      this.root.querySelectorAll("[data-sku]").forEach((card) => {
        const s = this.skus[card.dataset.sku];
        if (s) {
          card.querySelector("[data-available]").textContent = String(s.available);
          card.querySelector("[data-offered]").textContent = String(s.offered);
          const bar = card.querySelector(".stockbar > span");
          if (bar) bar.style.width = (s.offered ? Math.round((100 * s.available) / s.offered) : 0) + "%";
        }
        const soldOut = s ? s.available <= 0 : card.dataset.initialAvailable === "0";
        card.querySelector("[data-soldout]").hidden = !soldOut;
        card.dataset.soldOut = soldOut ? "true" : "false";
        const btn = card.querySelector("[data-reserve]");
        let reason = "";
        if (this.state !== "live") reason = this.state === "scheduled" ? "Not started yet" : (STATE_LABELS[this.state] || "Closed");
        else if (soldOut) reason = "Sold out";
        else if (!this.loggedIn) reason = "";
        else if (left <= 0) reason = "Limit reached";
        if (btn && !btn.classList.contains("busy")) {
          btn.disabled = !!reason;
          btn.querySelector("[data-label]").textContent = reason || (this.loggedIn ? "Reserve" : "Log in to reserve");
        }
        const qty = card.querySelector("select[data-qty]");
        if (qty) {
          const max = Math.max(1, Math.min(left, s ? s.available : left));
          Array.from(qty.options).forEach((o) => { o.disabled = Number(o.value) > max; });
          if (Number(qty.value) > max) qty.value = "1";
        }
      });
    }

    async reserve(btn) {
      if (!this.loggedIn) { location.href = this.root.dataset.loginUrl; return; }
      const card = btn.closest("[data-sku]");
      const qty = card.querySelector("select[data-qty]");
      const quantity = qty ? Number(qty.value) : 1;
      const body = { drop_id: this.dropId, sku_id: Number(card.dataset.sku), quantity };
      const res = await M.api.withBusy(btn, this.errorEl, () =>
        M.api.request("POST", "/api/v1/reservations/", body, { idempotencyKey: M.api.newKey() }));
      if (res) {
        this.held += res.quantity;
        const box = this.root.querySelector("[data-reserved]");
        box.hidden = false;
        box.querySelector("[data-timer]").dataset.countdownTo = res.expires_at;
        box.querySelector("[data-reserved-title]").textContent = card.dataset.title + " × " + res.quantity;
        box.focus();
        M.countdowns.tick();
      }
      this.render();
    }
  }

  function mountDropWidgets(scope) {
    (scope || document).querySelectorAll("[data-drop-widget]:not([data-mounted])").forEach((el) => {
      el.dataset.mounted = "true";
      el.dropWidget = new DropWidget(el);
    });
  }
  M.DropWidget = DropWidget;
  M.mountDropWidgets = mountDropWidgets;
  document.addEventListener("DOMContentLoaded", () => mountDropWidgets());
  // Widgets swapped in by htmx (e.g. a live show pinning a drop) mount themselves too.
  document.addEventListener("htmx:afterSwap", (e) => mountDropWidgets(e.target));
})();
