/* Link a wallet with Sign-In with Ethereum (EIP-4361): nonce from the server, message signed by the
   browser wallet (EIP-1193 personal_sign), verified by the server. ethers only checksums the address. */
(function () {
  "use strict";
  const M = window.Mintdrop;

  function siweMessage(n, address) {
    return [
      n.domain + " wants you to sign in with your Ethereum account:",
      address,
      "",
      "Link this wallet to your mintdrop account.",
      "",
      "URI: " + n.uri,
      "Version: " + (n.version || "1"),
      "Chain ID: " + n.chain_id,
      "Nonce: " + n.nonce,
      "Issued At: " + new Date().toISOString(),
      "Expiration Time: " + new Date(Date.now() + 10 * 60 * 1000).toISOString(),
    ].join("\n");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("siwe");
    if (!root) return;
    const button = root.querySelector("[data-link]");
    const errorEl = root.querySelector("[data-error]");
    const okEl = root.querySelector("[data-ok]");
    if (!window.ethereum) {
      root.querySelector("[data-no-wallet]").hidden = false;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", () => M.api.withBusy(button, errorEl, async () => {
      let accounts;
      try {
        accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      } catch (e) {
        throw new M.api.ApiError("siwe_cancelled", "You cancelled the request in your wallet.");
      }
      const address = window.ethers.getAddress(accounts[0]);  // EIP-55 checksum, as EIP-4361 requires
      const nonce = await M.api.request("POST", "/api/v1/nft/siwe/nonce");
      const message = siweMessage(nonce, address);
      let signature;
      try {
        signature = await window.ethereum.request({ method: "personal_sign", params: [message, address] });
      } catch (e) {
        throw new M.api.ApiError("siwe_cancelled", "You cancelled the signature in your wallet.");
      }
      const wallet = await M.api.request("POST", "/api/v1/nft/siwe/verify", { message, signature });
      okEl.hidden = false;
      okEl.textContent = "Wallet " + wallet.address + " is linked. New NFTs will be minted to it.";
      const row = document.createElement("tr");
      ["address", "kind", "created_at"].forEach((k) => {
        const td = document.createElement("td");
        td.textContent = k === "created_at" ? new Date(wallet[k]).toLocaleDateString() : wallet[k];
        if (k === "address") td.className = "mono";
        row.appendChild(td);
      });
      root.ownerDocument.querySelector("[data-wallets]").appendChild(row);
    }));
  });
})();
