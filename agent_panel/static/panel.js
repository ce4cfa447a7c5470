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
 *   #media             the connected call's video; data-state = off | starting |
 *                      negotiating | live | failed | ended; data-interaction = its id
 *   #customer-video    the customer's camera; #customer-screen the customer's screen
 *   #agent-video       the agent's own camera (preview)
 *   #share-button      start / stop sharing the agent's screen; data-sharing = true | false
 *   #media-error       the last media problem (role=alert)
 *
 * Media: when a call connects, the panel offers to vidline's bridge over the panel
 * socket (the bridge answers): video[0] camera both ways (receive only with agent
 * video off), video[1] the customer's screen (receive only), video[2] the agent's
 * screen (added when sharing starts); one ordered data channel "vidline". No audio:
 * the agent hears the customer through the PBX. window.vidlinePanelMedia exposes the
 * peer connection, the channel and send(text) (split under the maximum message size).
 *
 * Tools: chat.js, wrapup.js, crm.js, cobrowse.js and snip.js load after this file
 * and hook in through window.vidlinePanel (on(event, fn), send(message), csrf,
 * shown(), focused(), mark(id, name, value), el(...), safeHttpUrl(url)); each owns
 * the <section id="tool-<name>"> of panel.html and documents its own ids.
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
  const marks = new Map();  // interaction id -> {name: value} set on its #pop-list item
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

  // -- extension points: the tool scripts (chat.js, wrapup.js, crm.js,
  // cobrowse.js, snip.js) load after this one and hook in through
  // window.vidlinePanel, so each tool lives in a file of its own
  const listeners = new Map();
  function emit(name, detail) {
    for (const fn of listeners.get(name) || []) {
      try { fn(detail); } catch (e) { console.error("vidline panel hook", name, e); }
    }
  }
  window.vidlinePanel = {
    // events: "ws:<type>" for every panel-socket message (after the core has
    // handled it), "shown" (the pop message now on screen), "media" ({interaction,
    // pc, channel, send}) when the call's data channel opens, "media-ended"
    on(name, fn) {
      if (!listeners.has(name)) listeners.set(name, []);
      listeners.get(name).push(fn);
    },
    send: (message) => send(message),
    csrf: csrf,
    shown: () => (shownId ? pops.get(shownId) || null : null),
    // the interaction in the URL (/agent/i/<id>): after a reload it may have
    // ended and no longer be in the pops, but its chat and wrap-up still are
    focused: () => focusId,
    // helpers the tools share: a DOM builder and the http(s) URL check
    el(tag, props, ...children) {
      const node = document.createElement(tag);
      Object.assign(node, props || {});
      node.append(...children);
      return node;
    },
    safeHttpUrl: (value) => safeHttpUrl(value),
    // a data-<name> attribute on the interaction's #pop-list item that lasts
    // across re-renders (value null removes it), e.g. chat's unread marker
    mark(id, name, value) {
      const item = marks.get(id) || {};
      if (value === null || value === undefined) delete item[name];
      else item[name] = String(value);
      marks.set(id, item);
      renderList();
    },
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
    if (message.phase === "connected" && shownId && !location.pathname.endsWith(shownId)) {
      // the call being worked on is the one a reload comes back to (its
      // chat and wrap-up), even after the call ended meanwhile
      history.replaceState(null, "", "/agent/i/" + encodeURIComponent(shownId));
    }
    emit("shown", message);
  }

  function renderList() {
    const list = $("pop-list");
    list.replaceChildren();
    for (const [id, message] of pops) {
      const ctx = (message.interaction || {}).context || {};
      const li = document.createElement("li");
      li.dataset.id = id;
      li.dataset.phase = message.phase;
      Object.assign(li.dataset, marks.get(id) || {});
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
    // a focused interaction that is over gives way to a new call
    const focusOver = !pops.has(focusId) || TERMINAL.has(pops.get(focusId).phase);
    if (id === focusId || (focusOver && (!TERMINAL.has(message.phase) || id === shownId
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
      } else if (message.type === "pop") {
        onPop(message);
        onPopMedia(message);
      } else if (message.type === "media-config") startMedia(message);
      else if (message.type === "answer") onAnswer(message);
      else if (message.type === "media-error") showMediaError(String(message.message));
      else if (message.type === "presence") onPresence(message);
      else if (message.type === "error") showError(String(message.message));
      if (typeof message.type === "string") emit("ws:" + message.type, message);
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

  // -- media ------------------------------------------------------------------
  let pc = null;
  let videoCodec = "VP8";
  let mediaId = "";
  let local = null;
  let screenSender = null;
  let negotiating = Promise.resolve();
  let answered = null;

  // data channel messages go out in parts under the peer's maximum message size,
  // split on character boundaries; an ordered reliable channel keeps them in order
  function sendParts(peer, dc, text) {
    const max = (peer.sctp && peer.sctp.maxMessageSize) || 65536;
    const encoder = new TextEncoder();
    let part = "";
    let size = 0;
    for (const ch of text) {
      const n = encoder.encode(ch).length;
      if (size + n > max) { dc.send(part); part = ""; size = 0; }
      part += ch;
      size += n;
    }
    if (part || !text) dc.send(part);
  }

  function setMedia(state) {
    const el = $("media");
    el.dataset.state = state;
    el.dataset.interaction = mediaId;
    el.hidden = state === "off";
  }
  function showMediaError(text) {
    $("media-error").textContent = text;
    $("media-error").hidden = !text;
  }

  function onPopMedia(message) {
    const id = (message.interaction || {}).id;
    if (message.phase === "connected" && id && id !== mediaId) {
      stopMedia();
      mediaId = id;
      setMedia("starting");
      send({ type: "media-hello", interaction: id });
    } else if (TERMINAL.has(message.phase) && id === mediaId) {
      stopMedia();
      setMedia("ended");
    }
  }

  function preferCodec(transceiver, codec) {
    // the bridge forwards video without transcoding: both legs must use its one codec
    // (H264: packetization-mode 1, constrained baseline first)
    const caps = RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities("video") : null;
    if (!caps || !transceiver.setCodecPreferences) return;
    const name = "video/" + String(codec || "VP8").toLowerCase();
    const rank = (c) => {
      if (/rtx/i.test(c.mimeType)) return 3;
      if (c.mimeType.toLowerCase() !== name) return 9;
      const fmtp = c.sdpFmtpLine || "";
      if (name !== "video/h264") return 0;
      if (!/packetization-mode=1/.test(fmtp)) return 9;
      return /profile-level-id=42e0/.test(fmtp) ? 1 : 2;
    };
    const chosen = caps.codecs.filter((c) => rank(c) < 9).sort((a, b) => rank(a) - rank(b));
    if (chosen.some((c) => rank(c) < 3)) transceiver.setCodecPreferences(chosen);
  }

  function gathered(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (peer.iceGatheringState === "complete") {
          peer.removeEventListener("icegatheringstatechange", check);
          resolve();
        }
      };
      peer.addEventListener("icegatheringstatechange", check);
    });
  }

  function negotiate() {
    const peer = pc;
    const id = mediaId;
    negotiating = negotiating.then(async () => {
      if (!peer || peer !== pc) return;
      setMedia("negotiating");
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      const answer = new Promise((resolve) => { answered = resolve; });
      send({ type: "offer", interaction: id, sdp: peer.localDescription.sdp });
      await answer;
    }).catch(() => { setMedia("failed"); showMediaError("The video connection failed."); });
    return negotiating;
  }

  async function onAnswer(message) {
    if (!pc || message.interaction !== mediaId) return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
      setMedia("live");
    } catch (e) {
      setMedia("failed");
      showMediaError("The video connection failed.");
    }
    if (answered) { answered(); answered = null; }
  }

  async function startMedia(config) {
    if (pc || config.interaction !== mediaId) return;
    videoCodec = config.video_codec || "VP8";
    const id = mediaId;
    if (config.agent_video) {
      try {
        local = await navigator.mediaDevices.getUserMedia({
          video: { width: 640, height: 480 }, audio: false });
        $("agent-video").srcObject = local;
      } catch (e) {
        showMediaError("Camera not available: the customer will not see you.");
      }
    }
    if (id !== mediaId || pc) { if (local) for (const t of local.getTracks()) t.stop(); return; }
    pc = new RTCPeerConnection(config.rtc || {});
    const cam = local && local.getVideoTracks()[0];
    const camera = pc.addTransceiver(cam || "video", { direction: cam ? "sendrecv" : "recvonly" });
    preferCodec(camera, videoCodec);
    preferCodec(pc.addTransceiver("video", { direction: "recvonly" }), videoCodec);
    const channel = pc.createDataChannel("vidline", { ordered: true });
    const peer = pc;
    window.vidlinePanelMedia = { pc: pc, channel: channel,
      send: (text) => sendParts(peer, channel, String(text)) };
    const media = { interaction: mediaId, pc: pc, channel: channel,
      send: window.vidlinePanelMedia.send };
    channel.addEventListener("open", () => emit("media", media));
    pc.addEventListener("track", (event) => {
      const videos = pc.getTransceivers().filter((t) => t.receiver.track.kind === "video");
      const index = videos.indexOf(event.transceiver);
      const stream = new MediaStream([event.track]);
      if (index === 0) $("customer-video").srcObject = stream;
      else if (index === 1) $("customer-screen").srcObject = stream;
    });
    negotiate();
  }

  async function toggleShare() {
    if (!pc) return;
    if (screenSender) {
      if (screenSender.track) screenSender.track.stop();
      await screenSender.replaceTrack(null);
      const t = pc.getTransceivers().find((x) => x.sender === screenSender);
      if (t) t.direction = "inactive";
      screenSender = null;
      $("share-button").dataset.sharing = "false";
      $("share-button").textContent = "Share my screen";
      return negotiate();
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      return;
    }
    const track = stream.getVideoTracks()[0];
    const videos = pc.getTransceivers().filter((t) => t.receiver.track.kind === "video");
    let transceiver = videos[2];
    if (transceiver) {
      await transceiver.sender.replaceTrack(track);
      transceiver.direction = "sendonly";
    } else {
      transceiver = pc.addTransceiver(track, { direction: "sendonly" });
      preferCodec(transceiver, videoCodec);
    }
    screenSender = transceiver.sender;
    track.addEventListener("ended", () => { if (screenSender) toggleShare(); });
    $("share-button").dataset.sharing = "true";
    $("share-button").textContent = "Stop sharing";
    return negotiate();
  }

  function stopMedia() {
    if (local) for (const t of local.getTracks()) t.stop();
    if (screenSender && screenSender.track) screenSender.track.stop();
    if (pc) { pc.close(); emit("media-ended", { interaction: mediaId }); }
    pc = null;
    local = null;
    screenSender = null;
    if (answered) { answered(); answered = null; }
  }

  $("share-button").addEventListener("click", toggleShare);

  $("pause-button").addEventListener("click", () => {
    send({ type: "pause", paused: true, reason: $("pause-reason").value });
  });
  $("resume-button").addEventListener("click", () => {
    send({ type: "pause", paused: false, reason: "" });
  });
  // after every deferred tool script has run and hooked in
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
  else connect();
})();
