/* Phygital redemption: POST the address; a custodial token is redeemed by the server, a token in the
   shopper's own wallet is redeemed by that wallet (eth_sendTransaction), whose hash we post back.
   Then the page follows the redemption until its Redeemed log is final. */
(function () {
  "use strict";
  const M = window.Mintdrop;
  const STATUS = {
    awaiting_signature: "Confirm the redemption in your wallet…",
    submitted: "Redemption sent; waiting for the chain to confirm it…",
    confirmed: "Redeemed. Your item will be shipped; you will get the tracking number by e-mail.",
    failed: "The redemption did not go through on chain; nothing was recorded. You can try again.",
  };

  async function follow(id, statusEl) {
    for (;;) {
      const r = await M.api.request("GET", "/api/v1/nft/redemptions/" + id);
      statusEl.textContent = STATUS[r.status] || r.status;
      if (r.status === "confirmed" || r.status === "failed") return r;
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }

  async function signInWallet(r) {
    if (!window.ethereum) {
      throw new M.api.ApiError("no_wallet", "This token is in your own wallet: open this page in a browser with that wallet to sign.");
    }
    const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts.map((a) => a.toLowerCase()).includes(r.transaction.from.toLowerCase())) {
      throw new M.api.ApiError("wrong_wallet", "Switch your wallet to " + r.transaction.from + ", which holds the token.");
    }
    let hash;
    try {
      hash = await window.ethereum.request({
        method: "eth_sendTransaction",
        params: [{ from: r.transaction.from, to: r.transaction.to, data: r.transaction.data, value: r.transaction.value }],
      });
    } catch (e) {
      throw new M.api.ApiError("redeem_cancelled", "You cancelled the transaction in your wallet.");
    }
    return M.api.request("POST", "/api/v1/nft/redemptions/" + r.id + "/tx", { tx_hash: hash });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("redeem");
    if (!form) return;
    const button = form.querySelector("[data-submit]");
    const errorEl = form.querySelector("[data-error]");
    const statusEl = form.querySelector("[data-status]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      M.api.withBusy(button, errorEl, async () => {
        const address = {};
        new FormData(form).forEach((value, key) => { if (String(value).trim()) address[key] = String(value).trim(); });
        if (address.country) address.country = address.country.toUpperCase();
        let r = await M.api.request("POST", "/api/v1/nft/redemptions", {
          chain_id: Number(form.dataset.chainId),
          contract: form.dataset.contract,
          token_id: form.dataset.tokenId,
          shipping_address: address,
        });
        statusEl.textContent = STATUS[r.status] || r.status;
        if (r.status === "awaiting_signature") r = await signInWallet(r);
        form.querySelectorAll("input").forEach((i) => { i.disabled = true; });
        await follow(r.id, statusEl);
      });
    });
  });
})();
