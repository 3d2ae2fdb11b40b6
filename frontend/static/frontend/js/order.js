/* My order, live: status, payment, mint and shipment progress per line over /ws/orders/<id>/, plus
   the confirmation count of each mint transaction from our explorer API. */
(function () {
  "use strict";
  const M = window.Mintdrop;
  const STATUS = { pending_payment: "Awaiting payment", paid: "Paid", fulfilling: "Minting / shipping",
    fulfilled: "Fulfilled", cancelled: "Cancelled", refunded: "Refunded", partially_refunded: "Partly refunded" };
  const LINE = { pending: "Awaiting payment", paid: "Paid", unavailable: "Out of stock — refunding",
    fulfilled: "Fulfilled", refunded: "Refunded", cancelled: "Cancelled" };

  const SHIPMENT = { pending: "Waiting for the shop to pack it", created: "Waiting for the shop to pack it",
    shipped: "Shipped", delivered: "Delivered", cancelled: "Cannot be shipped — refunded" };

  function short(h) { return h && h.length > 20 ? h.slice(0, 10) + "…" + h.slice(-6) : (h || ""); }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("order");
    if (!root) return;
    const orderId = root.dataset.orderId;
    const state = { status: null, lines: {}, shipments: {} };
    const carriers = JSON.parse(document.getElementById("carrier-names").textContent);
    const ships = root.dataset.ships === "1";
    const txWatch = {};

    function render() {
      const badge = root.querySelector("[data-order-status]");
      badge.textContent = STATUS[state.status] || state.status;
      badge.className = "badge " + state.status;
      const payLink = root.querySelector("[data-pay-link]");
      if (payLink) payLink.hidden = state.status !== "pending_payment";
      const lines = Object.values(state.lines);
      const nft = lines.filter((l) => l.kind !== "physical");
      const paid = ["paid", "fulfilling", "fulfilled", "partially_refunded", "refunded"].includes(state.status);
      const minted = nft.length > 0 && nft.every((l) => l.mint && l.mint.state === "confirmed");
      const minting = nft.some((l) => l.mint && ["requested", "submitted"].includes(l.mint.state)) || (paid && nft.length && !minted);
      const delivered = state.status === "fulfilled";
      const parcels = Object.values(state.shipments);
      const shipped = parcels.length > 0 && parcels.every((s) => ["shipped", "delivered"].includes(s.state));
      const steps = { paid, minting: minted || delivered, minted: minted || (delivered && nft.length > 0), shipped: shipped || (delivered && ships), delivered };
      let current = !paid ? null : (nft.length && !minted ? "minting" : (ships && !shipped ? "shipped" : "delivered"));
      if (["cancelled", "refunded"].includes(state.status)) current = null;
      root.querySelectorAll("[data-step]").forEach((li) => {
        const s = li.dataset.step;
        if ((s === "minting" || s === "minted") && !nft.length) { li.hidden = true; return; }
        li.className = steps[s] ? "done" : (s === current ? "now" : "");
        li.setAttribute("aria-current", s === current && !steps[s] ? "step" : "false");
      });
      renderShipments();
      lines.forEach((l) => {
        const row = root.querySelector('[data-line="' + l.line_id + '"]');
        if (!row) return;
        row.querySelector("[data-line-status]").textContent = LINE[l.status] || l.status;
        const cell = row.querySelector("[data-mint]");
        const m = l.mint;
        if (l.kind === "physical" || !m) {
          cell.textContent = l.kind !== "physical" && paid ? "Queued for minting…" : "";
          return;
        }
        let text = "";
        if (m.state === "requested") text = "Queued for minting…";
        else if (m.state === "submitted") text = "Minting — transaction sent, waiting for a block";
        else if (m.state === "confirmed") text = "Minted ✓ token #" + (m.token_id || l.token_id || "");
        else if (m.state === "failed") text = "Mint failed" + (m.reason ? " (" + m.reason + ")" : "") + " — this item is refunded";
        cell.innerHTML = "";
        const strong = document.createElement("strong");
        strong.dataset.mintState = m.state;
        strong.textContent = text;
        cell.appendChild(strong);
        if (m.tx_hash) {
          const tx = document.createElement("div");
          tx.className = "mono";
          tx.title = m.tx_hash;
          tx.dataset.txHash = m.tx_hash;
          tx.textContent = "tx " + short(m.tx_hash);
          cell.appendChild(tx);
          const conf = document.createElement("div");
          conf.dataset.confirmations = "";
          const c = txWatch[m.tx_hash];
          conf.textContent = c ? (c.confirmations + " confirmation" + (c.confirmations === 1 ? "" : "s") +
            (c.block_number ? " · block " + c.block_number : "") + (c.confirmations < c.required ? " (final at " + c.required + ")" : "")) :
            (m.block_number ? "block " + m.block_number : "");
          cell.appendChild(conf);
          watchTx(m.tx_hash);
        }
      });
    }

    function trackingNode(s) {
      const box = document.createElement("span");
      if (!s.tracking_number) return box;
      box.append((carriers[s.carrier] || s.carrier || "") + " ");
      if (s.tracking_url) {
        const a = document.createElement("a");
        a.href = s.tracking_url;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        a.dataset.trackingLink = "";
        a.textContent = s.tracking_number;
        box.append(a);
      } else {
        const code = document.createElement("span");
        code.className = "mono";
        code.textContent = s.tracking_number;
        box.append(code);
      }
      return box;
    }

    function renderShipments() {
      const box = root.querySelector("[data-shipment]");
      Object.values(state.shipments).forEach((s) => {
        const label = SHIPMENT[s.state] || s.state;
        if (box) {
          const status = box.querySelector("[data-shipment-status]");
          status.textContent = label + (s.state === "cancelled" && s.reason ? " (" + s.reason + ")" : "");
          status.dataset.state = s.state;
          box.querySelector("[data-shipment-tracking]").replaceChildren(trackingNode(s));
        }
        (s.line_ids || []).forEach((id) => {
          const cell = root.querySelector('[data-line="' + id + '"] [data-line-ship]');
          if (cell) cell.replaceChildren(label + (s.tracking_number ? " · " : ""), trackingNode(s));
        });
      });
    }

    // Confirmations keep growing after the `confirmed` frame: poll our explorer (bounded).
    function watchTx(hash) {
      if (txWatch[hash] !== undefined) return;
      txWatch[hash] = null;
      let polls = 0;
      const poll = async () => {
        polls += 1;
        try {
          const t = await M.api.request("GET", "/api/v1/nft/transactions/" + hash);
          txWatch[hash] = { confirmations: t.confirmations, required: t.required_confirmations, block_number: t.block_number };
          render();
          if (t.confirmations >= t.required + 5) return;
        } catch (e) { /* not indexed yet */ }
        if (polls < 120) setTimeout(poll, polls < 20 ? 2000 : 5000);
      };
      poll();
    }

    function applySnapshot(s) {
      state.status = s.status;
      (s.lines || []).forEach((l) => { state.lines[l.line_id] = Object.assign(state.lines[l.line_id] || {}, l); });
    }

    applySnapshot(JSON.parse(document.getElementById("order-snapshot").textContent));
    JSON.parse(document.getElementById("order-shipments").textContent).forEach((s) => { state.shipments[s.shipment_id] = s; });
    render();
    new M.LiveStream("/ws/orders/" + orderId + "/", {
      onStatus: M.bindStatus(document.querySelector("[data-conn]")),
      onError: (f) => { root.querySelector("[data-error]").textContent = M.api.friendly(f); },
      onFrame: (f) => {
        if (f.type === "snapshot") applySnapshot(f);
        else if (f.type === "order_status") {
          state.status = f.status;
          root.querySelector("[data-order-reason]").textContent = f.reason || "";
          if (f.status === "fulfilled") Object.values(state.lines).forEach((l) => { if (l.status === "paid") l.status = "fulfilled"; });
          if (f.status === "paid") Object.values(state.lines).forEach((l) => { if (l.status === "pending") l.status = "paid"; });
        } else if (f.type === "mint" && state.lines[f.line_id]) {
          const line = state.lines[f.line_id];
          line.mint = Object.assign(line.mint || {}, { state: f.state, tx_hash: f.tx_hash || (line.mint || {}).tx_hash,
            block_number: f.block_number || (line.mint || {}).block_number, token_id: f.token_id || (line.mint || {}).token_id,
            reason: f.reason || null });
          if (f.state === "confirmed" && typeof f.confirmations === "number" && f.tx_hash) {
            txWatch[f.tx_hash] = Object.assign({ required: f.confirmations }, txWatch[f.tx_hash] || {}, { confirmations: Math.max(f.confirmations, (txWatch[f.tx_hash] || {}).confirmations || 0), block_number: f.block_number });
          }
        } else if (f.type === "shipment") {
          const s = Object.assign(state.shipments[f.shipment_id] || {}, { shipment_id: f.shipment_id, line_ids: f.line_ids });
          s.state = f.state;
          ["carrier", "tracking_number", "tracking_url", "reason"].forEach((k) => { if (f[k] !== undefined) s[k] = f[k]; });
          state.shipments[f.shipment_id] = s;
          if (f.state === "cancelled") (f.line_ids || []).forEach((id) => { if (state.lines[id]) state.lines[id].status = "refunded"; });
        } else if (f.type === "payment" && f.event === "failed") {
          root.querySelector("[data-error]").textContent = M.api.friendly({ code: f.failure_code || "card_declined", message: f.failure_message });
        }
        render();
      },
    });
  });
})();
