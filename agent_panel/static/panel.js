/* vidline agent panel.
 *
 * Stable element ids (browser tests rely on them):
 *   #agent-name        the agent's display name
 *   #conn-state        WebSocket state; data-state = connecting | online | offline
 *   #presence-state    "Available" or "Paused: <reason>"; data-paused = true | false
 *   #pause-reason      <select> of pause reasons
 *   #pause-button      pause with the selected reason
 *   #resume-button     unpause
 *   #pop               the shown interaction; data-phase = none | ringing | connected |
 *                      missed | ended
 *   #pop-state         "Ringing", "Connected", "Missed", "Ended"; data-phase as #pop
 *   #pop-reason        why it ended, e.g. "(the customer hung up)"; empty otherwise
 *   #pop-id            the interaction id
 *   #pop-queue         the queue; #pop-route-reason why it went there
 *   #pop-context       <dl>; each <dd> has data-field = customer_id | phone | page_url |
 *                      category | kiosk_location | extra.<key>
 *   #crm-link          <a> to the CRM record (hidden without one)
 *   #crm-frame         <iframe> of the CRM record when crm.open_in = "iframe"
 *   #pop-list          <li data-id=... data-phase=...> per interaction, each a button
 *   #panel-error       the last error message (role=alert)
 *   #logout            the logout button
 *
 * Customer data is only ever set with textContent or as a checked http(s)
 * href/src: never parsed as markup.
 */
"use strict";

(function () {
  const body = document.body;
  const csrf = body.dataset.csrf;
  const crmOpenIn = body.dataset.crmOpenIn;
  let focusId = body.dataset.focusId || "";
  const pops = new Map();  // interaction id -> latest pop message
  let shownId = "";
  let socket = null;
  let retry = 0;

  const $ = (id) => document.getElementById(id);
  const PHASES = { ringing: "Ringing", connected: "Connected", ended: "Ended",
    missed: "Missed" };
  const REASONS = {
    customer_left: "the customer hung up", agent_left: "the agent hung up",
    abandoned: "the customer left the line", queue_timeout: "the queue timed out",
    failed: "the call could not be placed", pbx_lost: "the PBX lost the call",
  };
  const TERMINAL = new Set(["ended", "missed"]);
  const LABELS = {
    customer_id: "Customer ID", phone: "Phone", category: "Category",
    kiosk_location: "Kiosk", page_url: "Page",
  };

  function showError(text) {
    const el = $("panel-error");
    el.textContent = text;
    el.hidden = !text;
  }

  function setConn(state, text) {
    const el = $("conn-state");
    el.dataset.state = state;
    el.textContent = text;
  }

  function safeHttpUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function addRow(dl, field, label, value) {
    if (value === null || value === undefined || value === "") return;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.dataset.field = field;
    dd.textContent = String(value);
    dl.append(dt, dd);
  }

  function render(message) {
    const it = message.interaction || {};
    const ctx = it.context || {};
    shownId = it.id || "";
    $("pop").dataset.phase = message.phase;
    const state = $("pop-state");
    state.dataset.phase = message.phase;
    state.textContent = PHASES[message.phase] || String(message.phase);
    $("pop-reason").textContent = message.phase === "ended" && message.reason
      ? "(" + (REASONS[message.reason] || String(message.reason)) + ")" : "";
    $("pop-id").textContent = shownId;
    $("pop-queue").textContent = it.queue || "–";
    $("pop-route-reason").textContent = it.route_reason || "";
    const dl = $("pop-context");
    dl.replaceChildren();
    for (const field of Object.keys(LABELS)) addRow(dl, field, LABELS[field], ctx[field]);
    const extra = ctx.extra && typeof ctx.extra === "object" ? ctx.extra : {};
    for (const key of Object.keys(extra)) addRow(dl, "extra." + key, key, extra[key]);
    const url = safeHttpUrl(it.crm_url);
    const link = $("crm-link");
    const frame = $("crm-frame");
    if (url) {
      link.href = url;
      link.hidden = false;
    } else {
      link.removeAttribute("href");
      link.hidden = true;
    }
    if (crmOpenIn === "iframe" && url) {
      if (frame.getAttribute("src") !== url) frame.src = url;
      frame.hidden = false;
    } else {
      frame.removeAttribute("src");
      frame.hidden = true;
    }
    document.title = (PHASES[message.phase] || "vidline") + " · vidline";
  }

  function renderList() {
    const list = $("pop-list");
    list.replaceChildren();
    for (const [id, message] of pops) {
      const ctx = (message.interaction || {}).context || {};
      const li = document.createElement("li");
      li.dataset.id = id;
      li.dataset.phase = message.phase;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = (PHASES[message.phase] || message.phase) + ": " +
        (ctx.customer_id || ctx.phone || "anonymous");
      button.setAttribute("aria-current", id === shownId ? "true" : "false");
      button.addEventListener("click", () => focus(id));
      li.append(button);
      list.append(li);
    }
  }

  function focus(id) {
    focusId = id;
    history.replaceState(null, "", "/agent/i/" + encodeURIComponent(id));
    if (pops.has(id)) render(pops.get(id));
    renderList();
  }

  function onPop(message) {
    const id = (message.interaction || {}).id;
    if (typeof id !== "string") return;
    pops.delete(id);  // re-insert: the list shows the latest last
    pops.set(id, message);
    while (pops.size > 50) pops.delete(pops.keys().next().value);
    // the focused interaction stays on screen; otherwise the newest pop wins,
    // unless it is the end of one that is not shown
    if (id === focusId || (!pops.has(focusId) && (!TERMINAL.has(message.phase) || id === shownId
        || !shownId))) {
      render(message);
    }
    renderList();
  }

  function onPresence(message) {
    const el = $("presence-state");
    el.dataset.paused = String(message.paused);
    el.textContent = message.paused ? "Paused: " + (message.reason || "no reason") : "Available";
    $("pause-button").disabled = message.paused;
    $("resume-button").disabled = !message.paused;
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    showError("Not connected: the change was not sent.");
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    setConn("connecting", "Connecting…");
    socket = new WebSocket(scheme + location.host + "/agent/ws");
    socket.addEventListener("open", () => {
      // the CSRF token goes in the first message, not the URL (URLs get logged)
      socket.send(JSON.stringify({ type: "hello", csrf: csrf }));
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "hello") {
        retry = 0;
        showError("");
        setConn("online", "Online");
      } else if (message.type === "pop") onPop(message);
      else if (message.type === "presence") onPresence(message);
      else if (message.type === "error") showError(String(message.message));
    });
    socket.addEventListener("close", (event) => {
      setConn("offline", "Offline, reconnecting…");
      if (event.code === 4401 || event.code === 4403) {
        location.assign("/agent/login");
        return;
      }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry);
    });
  }

  $("pause-button").addEventListener("click", () => {
    send({ type: "pause", paused: true, reason: $("pause-reason").value });
  });
  $("resume-button").addEventListener("click", () => {
    send({ type: "pause", paused: false, reason: "" });
  });
  connect();
})();
