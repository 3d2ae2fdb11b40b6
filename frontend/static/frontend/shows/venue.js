/* 3D venue: mirrors a live show from the venue feed alone (/ws/shows/<id>/venue/), as a metaverse client
   would: the pinned product's glTF model on a stage (three.js, served from our origin under vendor/),
   the flash drop's live stock, the auction's clock and current bid, and buy / bid buttons that hand the
   shopper over to the usual checkout. No chat, no presence: the venue feed carries neither.
   State a test (or an embedding page) can read: #venue[data-model-state=none|loading|loaded|error],
   data-model-url / data-model-product-id of the model on stage, data-frames (frames drawn). */
(function () {
  "use strict";
  const M = (window.Mintdrop = window.Mintdrop || {});
  const STATE_LABELS = { scheduled: "Upcoming", live: "Live", ended: "Ended" };
  const DROP_LABELS = { scheduled: "Upcoming", live: "Flash drop", paused: "Paused", sold_out: "Sold out", ended: "Ended" };
  const AUCTION_LABELS = { scheduled: "Auction soon", open: "Auction", closed: "Sold", paid: "Sold · paid", passed: "Passed" };

  function $(root, sel) { return root.querySelector(sel); }
  function setText(el, text) { if (el) el.textContent = text; }
  function syncClock(iso) { if (iso) M.countdowns.offsetMs = Date.parse(iso) - Date.now(); }
  function leaderName(leader) {
    if (!leader) return "";
    return typeof leader === "object" ? String(leader.username || leader.display_name || leader.user_id || "") : String(leader);
  }
  function leaderId(leader) { return leader && typeof leader === "object" && leader.user_id != null ? String(leader.user_id) : ""; }

  /* --- the stage: three.js scene, one model at a time ------------------------------------------- */
  class Stage {
    constructor(root, canvas) {
      this.root = root;
      this.canvas = canvas;
      this.ready = this.init().catch((err) => {
        root.dataset.webgl = "none";
        $(root, "[data-venue-webgl]").hidden = false;
        console.warn("venue: no 3D stage", err);
      });
      this.loadToken = 0;
      this.board = { title: "", line1: "", line2: "" };
    }

    async init() {
      const T = (this.THREE = await import(this.root.dataset.threeUrl));
      const { GLTFLoader } = await import(this.root.dataset.gltfLoaderUrl);
      this.loader = new GLTFLoader();
      const renderer = (this.renderer = new T.WebGLRenderer({ canvas: this.canvas, antialias: true, preserveDrawingBuffer: true }));
      renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
      renderer.outputColorSpace = T.SRGBColorSpace;
      const scene = (this.scene = new T.Scene());
      scene.background = new T.Color(0x0d0b1e);
      scene.fog = new T.Fog(0x0d0b1e, 9, 20);
      this.camera = new T.PerspectiveCamera(38, 16 / 10, 0.1, 100);
      this.camera.position.set(0, 2.3, 7.2);
      this.camera.lookAt(0, 1.35, 0);
      scene.add(new T.HemisphereLight(0xffffff, 0x2a2a55, 1.4));
      const key = new T.DirectionalLight(0xffffff, 2.2);
      key.position.set(3, 6, 4);
      scene.add(key);
      const magenta = new T.PointLight(0xff3df2, 18, 12);
      magenta.position.set(-3, 2.5, 2);
      const cyan = new T.PointLight(0x00e5ff, 18, 12);
      cyan.position.set(3, 2.5, 2);
      scene.add(magenta, cyan);
      const floor = new T.Mesh(new T.CircleGeometry(14, 64), new T.MeshStandardMaterial({ color: 0x17142f, roughness: 0.9 }));
      floor.rotation.x = -Math.PI / 2;
      scene.add(floor);
      const stage = new T.Mesh(new T.CylinderGeometry(2.3, 2.5, 0.35, 64),
        new T.MeshStandardMaterial({ color: 0x2c2456, metalness: 0.35, roughness: 0.5 }));
      stage.position.y = 0.175;
      scene.add(stage);
      const rim = new T.Mesh(new T.TorusGeometry(2.32, 0.035, 8, 128),
        new T.MeshStandardMaterial({ color: 0x00e5ff, emissive: 0x00e5ff, emissiveIntensity: 1.5 }));
      rim.rotation.x = Math.PI / 2;
      rim.position.y = 0.355;
      scene.add(rim);
      // The backdrop screen: title, stock and bid drawn on a canvas texture (redrawn when they change).
      this.boardCanvas = document.createElement("canvas");
      this.boardCanvas.width = 1024;
      this.boardCanvas.height = 320;
      this.boardTexture = new T.CanvasTexture(this.boardCanvas);
      this.boardTexture.colorSpace = T.SRGBColorSpace;
      const board = new T.Mesh(new T.PlaneGeometry(6.4, 2), new T.MeshBasicMaterial({ map: this.boardTexture }));
      board.position.set(0, 2.85, -3.2);
      scene.add(board);
      this.holder = new T.Group();
      this.holder.position.y = 0.35;
      scene.add(this.holder);
      this.drawBoard();
      this.resize();
      window.addEventListener("resize", () => this.resize());
      let frames = 0;
      renderer.setAnimationLoop(() => {
        this.holder.rotation.y += 0.01;
        renderer.render(scene, this.camera);
        frames += 1;
        this.root.dataset.frames = String(frames);  // software WebGL on a busy box may draw ~1 frame/s
      });
      this.root.dataset.webgl = renderer.getContext().getParameter(renderer.getContext().VERSION) ? "ok" : "none";
    }

    resize() {
      const w = this.canvas.clientWidth || 800, h = this.canvas.clientHeight || 500;
      this.renderer.setSize(w, h, false);
      this.camera.aspect = w / h;
      this.camera.updateProjectionMatrix();
    }

    setBoard(board) {
      this.board = board;
      if (this.boardCanvas) this.drawBoard();
    }

    drawBoard() {
      const c = this.boardCanvas.getContext("2d"), b = this.board;
      const g = c.createLinearGradient(0, 0, 1024, 320);
      g.addColorStop(0, "#1a1040");
      g.addColorStop(1, "#3a0d4a");
      c.fillStyle = g;
      c.fillRect(0, 0, 1024, 320);
      c.strokeStyle = "#00e5ff";
      c.lineWidth = 6;
      c.strokeRect(3, 3, 1018, 314);
      c.fillStyle = "#ffffff";
      c.textAlign = "center";
      c.font = "bold 64px system-ui, sans-serif";
      c.fillText(b.title || "Waiting for the host…", 512, 100, 980);
      c.font = "48px system-ui, sans-serif";
      c.fillStyle = "#7ff3ff";
      c.fillText(b.line1 || "", 512, 185, 980);
      c.fillStyle = "#ff9cf5";
      c.fillText(b.line2 || "", 512, 260, 980);
      this.boardTexture.needsUpdate = true;
    }

    /** Put `url` (glTF / GLB) on the stage, replacing what was there; null clears it. */
    async show(url, productId) {
      await this.ready;
      const root = this.root;
      const token = ++this.loadToken;
      if (!this.THREE) return;
      this.clear();
      root.dataset.modelProductId = productId != null ? String(productId) : "";
      root.dataset.modelUrl = url || "";
      if (!url) { root.dataset.modelState = "none"; return; }
      root.dataset.modelState = "loading";
      try {
        const gltf = await this.loader.loadAsync(url);
        if (token !== this.loadToken) return;  // a newer pin replaced it while loading
        this.place(gltf.scene);
        let meshes = 0;
        gltf.scene.traverse((o) => { if (o.isMesh) meshes += 1; });
        root.dataset.modelMeshes = String(meshes);
        root.dataset.modelState = "loaded";
      } catch (err) {
        if (token !== this.loadToken) return;
        root.dataset.modelState = "error";
        console.warn("venue: model failed to load", url, err);
      }
    }

    place(object) {
      const T = this.THREE;
      const box = new T.Box3().setFromObject(object);
      const size = box.getSize(new T.Vector3());
      const scale = 2 / Math.max(size.x, size.y, size.z, 1e-6);  // about 2 m tall or wide on the stage
      object.scale.setScalar(scale);
      const fitted = new T.Box3().setFromObject(object);
      const center = fitted.getCenter(new T.Vector3());
      object.position.set(-center.x, -fitted.min.y + 0.05, -center.z);
      this.holder.add(object);
    }

    clear() {
      for (const child of [...this.holder.children]) {
        this.holder.remove(child);
        child.traverse((o) => {
          if (o.geometry) o.geometry.dispose();
          (Array.isArray(o.material) ? o.material : o.material ? [o.material] : []).forEach((m) => m.dispose());
        });
      }
    }
  }

  /* --- the venue: venue feed -> state -> stage + side panel --------------------------------------- */
  class Venue {
    constructor(root) {
      this.root = root;
      this.showId = Number(root.dataset.showId);
      this.loggedIn = root.dataset.loggedIn === "true";
      this.pinned = null;
      this.flash = null;
      this.auction = null;
      this.stage = new Stage(root, $(root, "[data-venue-canvas]"));
      this.socket = new M.ShowSocket("/ws/shows/" + this.showId + "/venue/", (f) => this.apply(f), M.bindStatus($(root, "[data-conn]")));
      $(root, "[data-venue-buy]").addEventListener("click", (e) => this.buy(e.currentTarget));
      $(root, "[data-venue-bid-button]").addEventListener("click", (e) => this.bid(e.currentTarget));
      setInterval(() => this.renderBoard(), 1000);  // the auction clock on the backdrop
    }

    apply(f) {
      if (f.stream && f.stream.startsWith("drop.")) { this.applyDrop(f); return; }
      switch (f.type) {
        case "snapshot":
          syncClock(f.server_time);
          this.setState(f.state);
          this.setPinned(f.pinned);
          this.setFlash(f.flash_drop);
          if ("auction" in f) this.setAuction(f.auction);
          break;
        case "show_state": this.setState(f.state); break;
        case "pinned": this.setPinned(f.product); break;
        case "unpinned": if (this.pinned && this.pinned.product_id === f.product_id) this.setPinned(null); break;
        case "flash_drop": this.setFlash(f.flash_drop); break;
        case "auction": this.setAuction(f.auction); break;
      }
    }

    applyDrop(f) {
      if (f.type === "snapshot" && f.flash_drop) { this.setFlash(f.flash_drop); return; }
      if (!this.flash || f.stream !== "drop." + this.flash.drop_id) return;
      if (f.type === "stock") {
        (f.skus || []).forEach((s) => {
          const row = (this.flash.skus || []).find((x) => x.sku_id === s.sku_id);
          if (row) Object.assign(row, s); else (this.flash.skus = this.flash.skus || []).push(s);
        });
      } else if (f.type === "drop_state") {
        this.flash.state = f.state;
        this.flash.countdown_to = f.countdown_to;
      }
      this.renderFlash();
    }

    setState(state) {
      const el = $(this.root, "[data-venue-state]");
      el.textContent = STATE_LABELS[state] || state || "–";
      el.className = "badge " + (state === "live" ? "live" : state || "");
      el.dataset.state = state || "";
    }

    setPinned(card) {
      const was = this.pinned;
      this.pinned = card;
      const box = $(this.root, "[data-venue-pinned]");
      box.hidden = !card;
      box.dataset.productId = card ? String(card.product_id) : "";
      if (card) {
        setText($(box, "[data-venue-title]"), card.title);
        setText($(box, "[data-venue-kind]"), card.kind);
        const sku = (card.skus || [])[0];
        setText($(box, "[data-venue-price]"), sku ? M.api.money(sku.price, sku.currency) : "");
        setText($(box, "[data-venue-model-status]"), card.animation_url ? "" : "No 3D model for this product.");
      }
      const url = card ? card.animation_url || "" : "";
      if (!was || !card || was.product_id !== card.product_id || (was.animation_url || "") !== url) {
        this.stage.show(url, card ? card.product_id : null);
      }
      this.renderFlash();
      this.renderBoard();
    }

    setFlash(flash) {
      if (flash && this.flash && flash.drop_id === this.flash.drop_id) Object.assign(this.flash, flash);
      else this.flash = flash ? Object.assign({}, flash) : null;
      this.renderFlash();
    }

    renderFlash() {
      const box = $(this.root, "[data-venue-flash]"), f = this.flash;
      box.hidden = !f;
      if (f) {
        box.dataset.dropId = String(f.drop_id);
        box.dataset.state = f.state;
        const sku = (f.skus || [])[0] || { available: 0, offered: 0 };
        setText($(box, "[data-venue-flash-state]"), DROP_LABELS[f.state] || f.state);
        setText($(box, "[data-venue-stock]"), String(sku.available));
        setText($(box, "[data-venue-offered]"), String(sku.offered));
        $(box, "[data-venue-flash-countdown]").dataset.countdownTo = f.countdown_to || "";
        const btn = $(box, "[data-venue-buy]");
        if (!btn.classList.contains("busy")) {
          const soldOut = sku.available <= 0 || f.state === "sold_out";
          const reason = f.state !== "live" ? DROP_LABELS[f.state] || "Closed" : soldOut ? "Sold out" : "";
          btn.disabled = !!reason;
          setText($(btn, "[data-venue-buy-label]"), reason || (this.loggedIn ? "Buy now" : "Log in to buy"));
        }
        M.countdowns.tick();
      }
      this.renderBoard();
    }

    setAuction(a) {
      if (a && a.server_time) syncClock(a.server_time);
      this.auction = a || null;
      const box = $(this.root, "[data-venue-auction]");
      box.hidden = !a;
      if (a) {
        box.dataset.auctionId = String(a.id);
        box.dataset.state = a.state;
        box.dataset.currentBid = a.current_bid == null ? "" : String(a.current_bid);
        setText($(box, "[data-venue-auction-state]"), AUCTION_LABELS[a.state] || a.state);
        setText($(box, "[data-venue-auction-title]"), a.title || "");
        setText($(box, "[data-venue-bid]"), a.current_bid == null ? "No bids yet" : M.api.money(a.current_bid, a.currency));
        setText($(box, "[data-venue-next-bid]"), a.next_bid == null ? "–" : M.api.money(a.next_bid, a.currency));
        const name = leaderName(a.leader);
        setText($(box, "[data-venue-leader]"), name ? "by " + name : "");
        const bids = Array.isArray(a.bids) ? a.bids.length : Number(a.bids) || 0;
        setText($(box, "[data-venue-bids]"), bids + (bids === 1 ? " bid" : " bids"));
        $(box, "[data-venue-auction-clock]").dataset.countdownTo = a.state === "open" ? a.ends_at || "" : "";
        const btn = $(box, "[data-venue-bid-button]");
        if (!btn.classList.contains("busy")) {
          const mine = this.isMe(a.leader);
          btn.disabled = a.state !== "open" || (mine && this.loggedIn);
          let label = a.state !== "open" ? (AUCTION_LABELS[a.state] || "Closed") : !this.loggedIn ? "Log in to bid"
            : mine ? "You lead" : "Bid " + M.api.money(a.next_bid, a.currency);
          if (this.wonByMe(a)) { btn.disabled = false; label = "You won: pay now"; }
          setText($(btn, "[data-venue-bid-label]"), label);
        }
        M.countdowns.tick();
      }
      this.renderBoard();
    }

    /** Closed with the item offered to this shopper (the winner, or the next bidder on a second chance). */
    wonByMe(a) { return a.state === "closed" && this.isMe(a.winner !== undefined ? a.winner : a.leader); }

    isMe(leader) {
      if (!leader || !this.loggedIn) return false;
      const id = leaderId(leader);
      if (id) return id === this.root.dataset.userId;
      return leaderName(leader) === this.root.dataset.username;
    }

    renderBoard() {
      const p = this.pinned, f = this.flash, a = this.auction;
      let line1 = "", line2 = "";
      if (a && a.state === "open") {
        const left = Math.max(0, Date.parse(a.ends_at) - (Date.now() + M.countdowns.offsetMs));
        line1 = (a.current_bid == null ? "Opens at " + M.api.money(a.next_bid, a.currency) : "Bid " + M.api.money(a.current_bid, a.currency)) +
          "  ·  " + M.countdowns.format(left);
        const name = leaderName(a.leader);
        if (name) line2 = "Leading: " + name;
      } else if (a && a.state !== "scheduled") {
        line1 = (AUCTION_LABELS[a.state] || a.state) + (a.current_bid != null ? " at " + M.api.money(a.current_bid, a.currency) : "");
      }
      if (f && f.skus && f.skus.length && (!p || f.product_id === p.product_id)) {
        const s = f.skus[0];
        const stock = s.available + " of " + s.offered + " left  ·  " + M.api.money(s.price, s.currency);
        if (!line1) line1 = stock; else line2 = line2 || stock;
      }
      this.stage.setBoard({ title: p ? p.title : "", line1, line2 });
    }

    // Hand-over to the usual checkout: reserve the unit, place the show's order, then the pay page.
    async buy(btn) {
      if (!this.loggedIn) { location.href = this.root.dataset.loginUrl; return; }
      const f = this.flash;
      if (!f || !f.skus || !f.skus.length) return;
      const order = await M.api.withBusy(btn, $(this.root, "[data-venue-buy-error]"), async () => {
        const res = await M.api.request("POST", "/api/v1/reservations/",
          { drop_id: f.drop_id, sku_id: f.skus[0].sku_id, quantity: 1 }, { idempotencyKey: M.api.newKey() });
        try {
          return await M.api.request("POST", "/api/v1/shows/" + this.showId + "/checkout/", { reservation_id: res.id });
        } catch (err) {
          if (err.code === "shipping_address_required") location.href = "/cart/#shipping";
          throw err;
        }
      });
      if (order) location.href = "/orders/" + order.order_id + "/pay/";
      else this.renderFlash();
    }

    async bid(btn) {
      if (!this.loggedIn) { location.href = this.root.dataset.loginUrl; return; }
      const a = this.auction;
      if (!a) return;
      const status = $(this.root, "[data-venue-bid-status]");
      if (this.wonByMe(a)) {  // hand over to the usual pay page of the order the auction made
        const detail = await M.api.withBusy(btn, $(this.root, "[data-venue-bid-error]"), () =>
          M.api.request("GET", "/api/v1/auctions/" + a.id + "/"));
        const orderId = detail && detail.you && detail.you.order_id;
        if (orderId) location.href = "/orders/" + orderId + "/pay/";
        return;
      }
      const placed = await M.api.withBusy(btn, $(this.root, "[data-venue-bid-error]"), () =>
        M.api.request("POST", "/api/v1/auctions/" + a.id + "/bids/", { amount: a.next_bid }, { idempotencyKey: M.api.newKey() }));
      setText(status, placed ? "Bid placed: " + M.api.money(a.next_bid, a.currency) : "");
      this.setAuction(this.auction);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("venue");
    if (root) M.venue = new Venue(root);
  });
})();
