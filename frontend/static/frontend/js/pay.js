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

    if (root.dataset.mode === "stripe") {
      button.disabled = true;
      const started = await M.api.withBusy(null, errorEl, () => M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/"));
      if (!started || !window.Stripe) { if (!window.Stripe) errorEl.textContent = M.api.friendly({ code: "stripe_unavailable" }); return; }
      const stripe = window.Stripe(started.publishable_key || root.dataset.publishableKey);
      const elements = stripe.elements({ clientSecret: started.client_secret });
      elements.create("payment").mount("#payment-element");
      button.disabled = false;
      button.addEventListener("click", () => M.api.withBusy(button, errorEl, async () => {
        const result = await stripe.confirmPayment({ elements, confirmParams: { return_url: root.dataset.returnUrl } });
        if (result.error) throw new M.api.ApiError(result.error.code || "stripe_rejected", result.error.message);
      }));
      return;
    }

    button.addEventListener("click", () => M.api.withBusy(button, errorEl, async () => {
      const outcome = (root.querySelector('input[name="outcome"]:checked') || {}).value || "succeeded";
      statusEl.textContent = "Creating the payment…";
      await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/");
      statusEl.textContent = "Confirming with the test card…";
      await M.api.request("POST", "/api/v1/orders/" + orderId + "/pay/demo-confirm/", { outcome });
      statusEl.textContent = outcome === "succeeded" ? "Payment sent. Taking you to your order…" : "Card declined (test).";
      if (outcome === "succeeded") location.href = orderUrl;
      else throw new M.api.ApiError("card_declined", "declined");
    }));
  });
})();
