/* mintdrop page helpers: JSON API calls with the session cookie + CSRF token, friendly errors,
   button loading states. No build step; each page loads the modules it needs. */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  let messagesTable = null;

  function messages() {
    if (messagesTable === null) {
      const el = document.getElementById("error-messages");
      messagesTable = el ? JSON.parse(el.textContent) : {};
    }
    return messagesTable;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  class ApiError extends Error {
    constructor(code, message, details, status) {
      super(message);
      this.code = code;
      this.details = details || {};
      this.status = status;
    }
  }

  /** The text to show a person for an API error (friendly table first, then the API message). */
  function friendly(err) {
    if (!err) return "";
    const table = messages();
    let text = table[err.code] || err.message || table.internal_error || "Something went wrong.";
    // Field errors of validation_error: name the fields so the person knows what to fix.
    if (err.code === "validation_error" && err.details && typeof err.details === "object") {
      const fields = Object.keys(err.details).filter((k) => k !== "non_field_errors");
      if (fields.length) text += " (" + fields.join(", ") + ")";
    }
    return text;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  /** fetch JSON; resolve with the body, reject with ApiError (network failures included). */
  async function request(method, url, body, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError("network_error", "Network error", {}, 0);
    }
    let data = null;
    const text = await response.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(err.code || (response.status >= 500 ? "internal_error" : "commerce_error"),
        err.message || response.statusText, err.details, response.status);
    }
    return data;
  }

  /** Run `work` with `button` showing a spinner and disabled; errors go to `errorEl`. */
  async function withBusy(button, errorEl, work) {
    if (button) { button.disabled = true; button.classList.add("busy"); button.setAttribute("aria-busy", "true"); }
    if (errorEl) errorEl.textContent = "";
    try {
      return await work();
    } catch (err) {
      if (errorEl) {
        errorEl.textContent = friendly(err);
        errorEl.dataset.code = err.code || "";
      }
      return undefined;
    } finally {
      if (button) { button.disabled = false; button.classList.remove("busy"); button.removeAttribute("aria-busy"); }
    }
  }

  /* ISO 4217 exponent of a currency (JPY 0, USD 2, KWD 3): the server's table (commerce/money.py,
     json_script "currency-exponents") lists every currency that is not 2 decimals. */
  let exponents = null;
  function exponent(currency) {
    if (exponents === null) {
      const el = document.getElementById("currency-exponents");
      try { exponents = el ? JSON.parse(el.textContent) : {}; } catch (e) { exponents = {}; }
    }
    const code = (currency || "usd").toLowerCase();
    return Object.prototype.hasOwnProperty.call(exponents, code) ? exponents[code] : 2;
  }

  /* Amounts are integer minor units: divide by 10^exponent, show exactly that many decimals. */
  function money(amount, currency) {
    const cur = (currency || "usd").toUpperCase();
    const digits = exponent(cur);
    const major = (amount || 0) / Math.pow(10, digits);
    try {
      return new Intl.NumberFormat(undefined, {
        style: "currency", currency: cur, minimumFractionDigits: digits, maximumFractionDigits: digits,
      }).format(major);
    } catch (e) {
      return major.toFixed(digits) + " " + cur;
    }
  }

  M.api = { request, friendly, withBusy, newKey, csrfToken, ApiError, money, exponent };
})();

/* What inline attributes used to do, now that the Content-Security-Policy allows no inline script or
   style: `data-hide-broken` images drop their src when it fails to load (the placeholder shows), and
   `data-width="N"` sets a bar's width to N % (also in fragments htmx swaps in). */
(function () {
  "use strict";
  function hideBroken(img) {
    if (img.hasAttribute("src")) img.removeAttribute("src");
  }
  function apply(root) {
    root.querySelectorAll("img[data-hide-broken]").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) hideBroken(img);
    });
    root.querySelectorAll("[data-width]").forEach(function (el) {
      const pct = Number(el.getAttribute("data-width"));
      if (Number.isFinite(pct)) el.style.width = Math.max(0, Math.min(100, pct)) + "%";
    });
  }
  document.addEventListener(
    "error",
    function (e) {
      const t = e.target;
      if (t && t.tagName === "IMG" && t.hasAttribute("data-hide-broken")) hideBroken(t);
    },
    true
  );
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { apply(document); });
  else apply(document);
  document.addEventListener("htmx:afterSwap", function (e) { apply(e.target); });
})();
