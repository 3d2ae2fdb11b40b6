/* Merchant live drop room: drop controls over the merchant API, live counters from
   /ws/merchants/<id>/dashboard/, stock per SKU from /ws/drops/<id>/, and a per-minute sales chart
   (seeded from the database, then fed by the growth of `units_sold` in dashboard frames). */
(function () {
  "use strict";
  const M = window.Mintdrop;
  const LABELS = { scheduled: "Upcoming", live: "Live", paused: "Paused", sold_out: "Sold out", ended: "Ended" };
  const ALLOWED = {
    scheduled: ["start", "end"], live: ["pause", "end"], paused: ["resume", "end"],
    sold_out: ["end"], ended: [],
  };
  const WINDOW_MIN = 15;

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("room");
    if (!root) return;
    const merchantId = root.dataset.merchantId;
    const dropId = Number(root.dataset.dropId);
    const errorEl = root.querySelector("[data-error]");
    const okEl = root.querySelector("[data-ok]");
    const api = "/api/v1/merchants/" + merchantId + "/drops/" + dropId + "/";
    const series = new Map();  // minute start (s) -> units
    JSON.parse(document.getElementById("sales-series").textContent).forEach((b) => series.set(b.t, b.units));
    let lastUnits = null;

    function setState(state, countdownTo) {
      root.dataset.state = state;
      const badge = root.querySelector("[data-drop-state]");
      badge.textContent = LABELS[state] || state;
      badge.className = "badge " + state;
      if (countdownTo !== undefined) root.querySelector("[data-countdown]").dataset.countdownTo = countdownTo || "";
      root.querySelectorAll("[data-action]").forEach((b) => {
        if (!b.classList.contains("busy")) b.disabled = !(ALLOWED[state] || []).includes(b.dataset.action);
      });
      const restock = root.querySelector("[data-restock] button");
      if (restock) restock.disabled = state === "ended";
    }

    function setKpis(row) {
      root.querySelectorAll("[data-kpi]").forEach((el) => {
        const v = row[el.dataset.kpi];
        if (v === undefined) return;
        el.textContent = el.dataset.money ? M.api.money(v, el.dataset.money) : String(v);
      });
      if (typeof row.units_sold === "number") {
        if (lastUnits !== null && row.units_sold > lastUnits) {
          const minute = Math.floor(Date.now() / 60000) * 60;
          series.set(minute, (series.get(minute) || 0) + (row.units_sold - lastUnits));
        }
        lastUnits = row.units_sold;
        draw();
      }
      if (row.state) setState(row.state, row.countdown_to);
    }

    function draw() {
      const canvas = root.querySelector("[data-chart]");
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth, h = canvas.clientHeight;
      canvas.width = w * dpr; canvas.height = h * dpr;
      const ctx = canvas.getContext("2d");
      ctx.scale(dpr, dpr);
      ctx.clearRect(0, 0, w, h);
      const now = Math.floor(Date.now() / 60000) * 60;
      const buckets = [];
      for (let i = WINDOW_MIN - 1; i >= 0; i--) buckets.push({ t: now - i * 60, units: series.get(now - i * 60) || 0 });
      const max = Math.max(1, ...buckets.map((b) => b.units));
      const padL = 30, padB = 22, padT = 10;
      const bw = (w - padL - 8) / buckets.length;
      ctx.fillStyle = "#50505f"; ctx.font = "11px system-ui, sans-serif";
      ctx.fillText(String(max), 4, padT + 8); ctx.fillText("0", 4, h - padB);
      ctx.strokeStyle = "#d9d9e3"; ctx.beginPath(); ctx.moveTo(padL, h - padB + 0.5); ctx.lineTo(w - 4, h - padB + 0.5); ctx.stroke();
      buckets.forEach((b, i) => {
        const bh = ((h - padB - padT) * b.units) / max;
        ctx.fillStyle = i === buckets.length - 1 ? "#4b2bd6" : "#8f7be8";
        ctx.fillRect(padL + i * bw + 2, h - padB - bh, Math.max(2, bw - 4), bh);
        if (b.units) { ctx.fillStyle = "#17171f"; ctx.fillText(String(b.units), padL + i * bw + 3, h - padB - bh - 3); }
        if (i % 3 === 2 || i === buckets.length - 1) {
          const d = new Date(b.t * 1000);
          ctx.fillStyle = "#50505f";
          ctx.fillText(String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0"), padL + i * bw, h - 6);
        }
      });
      canvas.dataset.total = String(buckets.reduce((a, b) => a + b.units, 0));
    }
    window.addEventListener("resize", draw);
    setInterval(draw, 10000);  // slide the window even when nothing sells

    function setSku(s) {
      const row = root.querySelector('tr[data-sku="' + s.sku_id + '"]');
      if (!row) return;
      ["offered", "reserved", "sold", "available"].forEach((f) => {
        const cell = row.querySelector('[data-f="' + f + '"]');
        if (cell && s[f] !== undefined) cell.textContent = String(s[f]);
      });
    }

    root.querySelectorAll("[data-action]").forEach((btn) => btn.addEventListener("click", async () => {
      const action = btn.dataset.action;
      if (action === "end" && !window.confirm("End this drop now? Shoppers can no longer reserve.")) return;
      okEl.hidden = true;
      const drop = await M.api.withBusy(btn, errorEl, () => M.api.request("POST", api + action + "/"));
      if (drop) {
        setState(drop.state);
        okEl.hidden = false;
        okEl.textContent = "Drop is now " + (LABELS[drop.state] || drop.state).toLowerCase() + ".";
      } else setState(root.dataset.state);
    }));

    root.querySelector("[data-restock]").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const body = { sku_id: Number(form.sku_id.value), quantity: Number(form.quantity.value) };
      okEl.hidden = true;
      const item = await M.api.withBusy(form.querySelector("button"), errorEl, () => M.api.request("POST", api + "restock/", body));
      if (item) {
        setSku({ sku_id: item.sku.id, offered: item.offered, reserved: item.reserved, sold: item.sold, available: item.available });
        okEl.hidden = false;
        okEl.textContent = "Added " + body.quantity + " units.";
      }
    });

    setState(root.dataset.state);
    draw();
    new M.LiveStream("/ws/merchants/" + merchantId + "/dashboard/", {
      onStatus: M.bindStatus(root.querySelector("[data-conn]")),
      onError: (f) => { errorEl.textContent = M.api.friendly(f); },
      onFrame: (f) => {
        const row = (f.drops || []).find((d) => d.drop_id === dropId);
        if (row) setKpis(row);
      },
    });
    new M.LiveStream("/ws/drops/" + dropId + "/", {
      onFrame: (f) => {
        if (f.type === "snapshot" || f.type === "stock") (f.skus || []).forEach(setSku);
        if (f.type === "snapshot" || f.type === "drop_state") setState(f.state, f.countdown_to);
      },
    });
  });
})();
