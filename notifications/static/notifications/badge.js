/* The unread badge in the storefront header, kept current over the user's notification socket
   (/ws/notifications/, notifications/ws.py). Reconnects with backoff; the page already rendered the
   count, so a socket that never opens only means the badge waits for the next page load. */
(function () {
  "use strict";
  const badge = document.getElementById("notif-badge");
  if (!badge) return;
  const base = (document.body.dataset.wsUrl || "").replace(/\/$/, "") ||
    (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  let attempt = 0;
  function show(n) {
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
    badge.dataset.unread = String(n);
    badge.setAttribute("aria-label", n + " unread notifications");
  }
  function open() {
    const ws = new WebSocket(base + "/ws/notifications/");
    ws.onopen = () => { attempt = 0; };
    ws.onmessage = (e) => {
      try {
        const msg = JSON.parse(e.data);
        if (msg.type === "unread") show(msg.unread);
      } catch (err) { /* not ours */ }
    };
    ws.onclose = (e) => {
      if (e.code === 4401) return; // logged out: final
      attempt += 1;
      setTimeout(open, Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
    };
  }
  open();
})();
