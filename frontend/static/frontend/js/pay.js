/* Payment step. Demo (stripe-mock): create the PaymentIntent, confirm it with a test card and let
   the signed webhook simulator complete it. Real keys: Stripe's Payment Element. */
(function () {
  "use strict";
  const M = window.Mintdrop;
  document.addEventListener("DOMContentLoaded", async () => {
    const root = document.getElementById("pay");
    if (!root) return;
    const orderId = root.dataset.orderId;
    const errorEl = root.querySelector("[data-error]");
    const statusEl = root.querySelector("[data-pay-status]");
    const button = root.querySelector("[data-pay]");
    const orderUrl = "/orders/" + orderId + "/";
    const declinedEl = root.querySelector("[data-declined]");
    // A declined card does not end the PaymentIntent: the items stay held until the reservation
    // expires, and the buyer retries on this page (same order, same PaymentIntent).
    function showDeclined(err) {
      const code = (err && err.code) || "";
      if (declinedEl) declinedEl.hidden = !(code === "card_declined" || code.indexOf("declined") >= 0);
      const timeEl = root.querySelector("[data-hold-time]");
      if (timeEl && timeEl.dateTime) timeEl.textContent = new Date(timeEl.dateTime).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      throw err;
    }

    if (root.dataset.mode === "stripe") {
      button.disabled = true;
      const started = await M.api.withBusy(null, errorEl, () => M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/"));
      if (!started || !window.Stripe) { if (!window.Stripe) errorEl.textContent = M.api.friendly({ code: "stripe_unavailable" }); return; }
      const stripe = window.Stripe(started.publishable_key || root.dataset.publishableKey);
      const elements = stripe.elements({ clientSecret: started.client_secret });
      elements.create("payment").mount("#payment-element");
      button.disabled = false;
      button.addEventListener("click", () => M.api.withBusy(button, errorEl, async () => {
        if (declinedEl) declinedEl.hidden = true;
        const result = await stripe.confirmPayment({ elements, confirmParams: { return_url: root.dataset.returnUrl } });
        if (result.error) showDeclined(new M.api.ApiError(result.error.decline_code ? "card_declined" : (result.error.code || "stripe_rejected"), result.error.message));
      }));
      return;
    }

    button.addEventListener("click", () => M.api.withBusy(button, errorEl, async () => {
      const outcome = (root.querySelector('input[name="outcome"]:checked') || {}).value || "succeeded";
      if (declinedEl) declinedEl.hidden = true;
      statusEl.textContent = "Creating the payment…";
      await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/");
      statusEl.textContent = "Confirming with the test card…";
      await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/demo-confirm/", { outcome });
      statusEl.textContent = outcome === "succeeded" ? "Payment sent. Taking you to your order…" : "Card declined (test).";
      if (outcome === "succeeded") location.href = orderUrl;
      else showDeclined(new M.api.ApiError("card_declined", "declined"));
    }));
  });
})();
