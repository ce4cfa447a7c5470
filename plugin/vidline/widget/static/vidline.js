/* vidline customer widget: one file, embeddable with one tag:
 *
 *   <div id="help"></div>
 *   <script src="https://vidline.example.com/widget/vidline.js" data-target="#help"
 *           data-kiosk="Lobby 2" data-extra='{"plan":"gold"}' defer></script>
 *
 * data-target: where the widget renders (default: a new element after the tag);
 * data-kiosk: the kiosk location sent with the request; data-extra: a JSON object of
 * extra string values. The page URL is added automatically.
 *
 * Stable element ids (browser tests rely on them):
 *   #vl-widget       the root; data-state = form | sending | created | originating | queued |
 *                    ringing | connected | ended | error
 *   #vl-form         the request form: #vl-customer-id, #vl-phone, #vl-category, #vl-submit
 *   #vl-error        the form's error message (role=alert); data-field = the refused field
 *   #vl-status       the live status region (role=status); data-state as #vl-widget;
 *                    contains #vl-message, #vl-position ("N of M in line"), #vl-wait
 *   #vl-hangup       hang up / leave the line
 *   #vl-restart      shown once ended: back to the form
 *   #vl-media        the call's media; data-state = off | starting | negotiating | live |
 *                    failed | ended
 *   #vl-local-video  the customer's own camera (muted preview)
 *   #vl-remote-video the agent's camera; #vl-remote-screen the agent's shared screen
 *   #vl-remote-audio what the PBX sends: music on hold, announcements, the agent's voice
 *   #vl-share        start / stop sharing the customer's screen; data-sharing = true | false
 *   #vl-media-error  the last media problem (role=alert)
 *
 * Media (WebRTC to vidline's bridge, which answers; this page always offers): m-lines in
 * this order: audio (mic), video[0] camera both ways, video[1] the agent's screen
 * (receive only), video[2] this page's screen (added when sharing starts). One ordered
 * data channel "vidline". window.vidlineMedia exposes the peer connection, the
 * channel and send(text) (split under the peer's maximum message size).
 *
 * Customer-visible strings are in STRINGS. Text is only ever set as text, never as markup.
 */
(function () {
  "use strict";

  const STRINGS = {
    title: "Talk to us on video",
    customerId: "Customer number (optional)",
    phone: "Phone number (optional)",
    category: "What is it about?",
    submit: "Start video chat",
    sending: "Sending your request…",
    placing: "Finding you a place in line…",
    queued: "",
    position: (n, m) => n + " of " + m + " in line",
    waitUnknown: "",
    wait: (s) => (s < 60 ? "Expected wait: under a minute"
      : "Expected wait: about " + Math.round(s / 60) + " min"),
    ringing: "An agent is being connected",
    connected: (member) => "Connected with " + (member || "an agent"),
    ended: {
      customer_left: "You ended the call.",
      agent_left: "The agent ended the call.",
      abandoned: "You left the line.",
      queue_timeout: "No agent could take your call. Please try again later.",
      failed: "We could not place your call. Please try again later.",
      pbx_lost: "The call was interrupted. Please try again.",
    },
    endedOther: "The call has ended.",
    hangup: "Hang up",
    localVideo: "Your camera",
    remoteVideo: "The agent's camera",
    remoteScreen: "The agent's screen",
    share: "Share my screen",
    stopShare: "Stop sharing",
    noDevices: "Camera or microphone not available: the agent will not see or hear you.",
    mediaFailed: "The video connection failed.",
    leave: "Leave the line",
    restart: "Start again",
    lost: "Connection lost. Reconnecting…",
    gone: "The connection to the service was lost.",
    configFailed: "The service is not available right now.",
    rateLimited: "Too many requests. Please wait a moment and try again.",
    tooLarge: "The request is too large.",
    requestFailed: "Your request could not be sent. Please try again.",
    invalid: (label, message) => label + ": " + message,
    fields: {
      customer_id: "Customer number", phone: "Phone number", category: "Topic",
      page_url: "Page address", kiosk_location: "Kiosk", extra: "Extra data", body: "Request",
    },
  };

  const CSS = `
    .vl-widget { font: 16px/1.4 system-ui, sans-serif; max-width: 26rem; padding: 1rem;
      border: 1px solid #8886; border-radius: .6rem; display: grid; gap: .6rem; }
    .vl-widget h2 { font-size: 1.15rem; margin: 0; }
    .vl-widget form { display: grid; gap: .4rem; }
    .vl-widget label { font-weight: 600; }
    .vl-widget input, .vl-widget select, .vl-widget button { font: inherit; padding: .4rem .6rem; }
    .vl-widget button:focus-visible, .vl-widget input:focus-visible,
    .vl-widget select:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
    .vl-widget [aria-invalid="true"] { border-color: #b3261e; }
    .vl-widget .vl-error { color: #b3261e; font-weight: 600; }
    .vl-widget #vl-position { font-size: 1.3rem; font-weight: 700; }
    .vl-widget p { margin: 0; }
    .vl-widget video { width: 100%; background: #000; border-radius: .4rem; }
    .vl-widget #vl-local-video { width: 30%; }`;

  const script = document.currentScript;
  const base = new URL("..", script.src);  // the widget lives at <base>/widget/vidline.js
  const STORE = "vidline.interaction";
  const data = script.dataset;
  let socket = null;
  let current = null;  // {id, token, ws_url}
  let ended = false;
  let retries = 0;
  let hangupWanted = false;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);  // CSSOM: allowed under a strict style-src CSP
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    } catch (e) { /* an old browser: unstyled but working */ }
  }

  // -- the DOM ------------------------------------------------------------
  const root = el("section", { id: "vl-widget", class: "vl-widget", "aria-labelledby": "vl-title",
    "data-state": "form" });
  const title = el("h2", { id: "vl-title" }, STRINGS.title);
  const form = el("form", { id: "vl-form", novalidate: "" });
  const customerId = el("input", { id: "vl-customer-id", name: "customer_id", maxlength: "64",
    autocomplete: "off" });
  const phone = el("input", { id: "vl-phone", name: "phone", type: "tel", maxlength: "32",
    autocomplete: "tel" });
  const category = el("select", { id: "vl-category", name: "category" });
  const submit = el("button", { id: "vl-submit", type: "submit" }, STRINGS.submit);
  const error = el("p", { id: "vl-error", class: "vl-error", role: "alert" });
  form.append(
    el("label", { for: "vl-customer-id" }, STRINGS.customerId), customerId,
    el("label", { for: "vl-phone" }, STRINGS.phone), phone,
    el("label", { for: "vl-category" }, STRINGS.category), category, submit);
  const status = el("div", { id: "vl-status", role: "status", "aria-live": "polite",
    "data-state": "form" });
  const message = el("p", { id: "vl-message" });
  const position = el("p", { id: "vl-position" });
  const wait = el("p", { id: "vl-wait" });
  status.append(message, position, wait);
  const hangup = el("button", { id: "vl-hangup", type: "button" }, STRINGS.leave);
  const restart = el("button", { id: "vl-restart", type: "button" }, STRINGS.restart);
  const media = el("div", { id: "vl-media", "data-state": "off", hidden: "" });
  const localVideo = el("video", { id: "vl-local-video", autoplay: "", playsinline: "",
    "aria-label": STRINGS.localVideo });
  localVideo.muted = true;
  const remoteVideo = el("video", { id: "vl-remote-video", autoplay: "", playsinline: "",
    "aria-label": STRINGS.remoteVideo });
  const remoteScreen = el("video", { id: "vl-remote-screen", autoplay: "", playsinline: "",
    "aria-label": STRINGS.remoteScreen });
  const remoteAudio = el("audio", { id: "vl-remote-audio", autoplay: "" });
  const share = el("button", { id: "vl-share", type: "button", "data-sharing": "false" },
    STRINGS.share);
  const mediaError = el("p", { id: "vl-media-error", class: "vl-error", role: "alert",
    hidden: "" });
  media.append(remoteVideo, remoteScreen, localVideo, remoteAudio, share, mediaError);
  root.append(title, form, error, status, media, hangup, restart);

  function setState(state) {
    root.dataset.state = state;
    status.dataset.state = state;
    form.hidden = !(state === "form" || state === "error");
    status.hidden = state === "form" || state === "error";
    hangup.hidden = !["created", "originating", "queued", "ringing", "connected"].includes(state);
    hangup.textContent = state === "connected" ? STRINGS.hangup : STRINGS.leave;
    restart.hidden = state !== "ended";
  }

  function showStatus(state, text, pos, waitText) {
    setState(state);
    message.textContent = text || "";
    position.textContent = pos || "";
    wait.textContent = waitText || "";
    message.hidden = !text;
    position.hidden = !pos;
    wait.hidden = !waitText;
  }

  function showError(text, field) {
    error.textContent = text || "";
    error.hidden = !text;
    if (field) error.dataset.field = field; else delete error.dataset.field;
    for (const input of [customerId, phone, category]) {
      input.setAttribute("aria-invalid", String(!!field && input.name === field));
    }
    const bad = [customerId, phone, category].find((i) => i.name === field);
    if (bad) bad.focus();
  }

  // -- the request ----------------------------------------------------------
  async function loadConfig() {
    try {
      const response = await fetch(new URL("api/v1/config/public", base));
      if (!response.ok) throw new Error(String(response.status));
      const config = await response.json();
      category.replaceChildren(...config.categories.map((c) => el("option", { value: c }, c)));
    } catch (e) {
      setState("error");
      showError(STRINGS.configFailed);
      submit.disabled = true;
    }
  }

  function contextFromForm() {
    const context = {
      customer_id: customerId.value.trim(),
      phone: phone.value.trim(),
      category: category.value,
    };
    const href = location.href;
    if (/^https?:/.test(href) && href.length <= 2048) context.page_url = href;
    if (data.kiosk) context.kiosk_location = data.kiosk;
    if (data.extra) {
      try { context.extra = JSON.parse(data.extra); } catch (e) { /* ignored: site's bug */ }
    }
    return context;
  }

  async function request(event) {
    event.preventDefault();
    showError("");
    submit.disabled = true;
    showStatus("sending", STRINGS.sending);
    let response;
    try {
      response = await fetch(new URL("api/v1/interactions", base), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(contextFromForm()),
      });
    } catch (e) {
      return failed(STRINGS.requestFailed);
    }
    let body = {};
    try { body = await response.json(); } catch (e) { /* no JSON */ }
    if (response.status === 201) {
      current = { id: body.id, token: body.token, ws_url: body.ws_url };
      try { sessionStorage.setItem(STORE, JSON.stringify(current)); } catch (e) { /* private */ }
      ended = false;
      retries = 0;
      hangupWanted = false;
      showStatus("created", STRINGS.placing);
      return open(false);
    }
    if (response.status === 429) return failed(STRINGS.rateLimited);
    if (response.status === 413) return failed(STRINGS.tooLarge, "body");
    const label = STRINGS.fields[body.field] || STRINGS.fields.body;
    return failed(body.message ? STRINGS.invalid(label, body.message) : STRINGS.requestFailed,
      body.field);
  }

  function failed(text, field) {
    submit.disabled = false;
    setState("error");
    showError(text, field);
  }

  // -- the live status --------------------------------------------------------
  function onStatus(msg) {
    const state = msg.state;
    if (state === "queued") {
      const pos = msg.position && msg.count ? STRINGS.position(msg.position, msg.count) : "";
      const w = typeof msg.expected_wait === "number" ? STRINGS.wait(msg.expected_wait)
        : STRINGS.waitUnknown;
      showStatus(state, pos ? STRINGS.queued : STRINGS.placing, pos, w);
    } else if (state === "ringing") {
      showStatus(state, STRINGS.ringing);
    } else if (state === "connected") {
      showStatus(state, STRINGS.connected(msg.agent));
    } else if (state === "ended") {
      ended = true;
      stopMedia();
      forget();
      showStatus(state, STRINGS.ended[msg.reason] || STRINGS.endedOther);
    } else {
      showStatus(state, STRINGS.placing);
    }
  }

  function forget() {
    try { sessionStorage.removeItem(STORE); } catch (e) { /* private */ }
  }

  function open(restoring) {
    const url = new URL(current.ws_url);
    url.searchParams.set("token", current.token);
    socket = new WebSocket(url.href);
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      retries = 0;
      if (!pc && !ended) socket.send(JSON.stringify({ type: "media-hello" }));
      if (hangupWanted) socket.send(JSON.stringify({ type: "hangup" }));
    });
    socket.addEventListener("message", (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "status") onStatus(msg);
      else if (msg.type === "media-config") startMedia(msg);
      else if (msg.type === "answer") onAnswer(msg);
      else if (msg.type === "media-error") showMediaError(msg.message);
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (ended) return;
      if (restoring && !opened) {
        // a saved request the server no longer knows (ended, or a restart)
        forget();
        current = null;
        setState("form");
        return;
      }
      // the server keeps the place in line for a few seconds: try to reattach
      if (retries < 3) {
        retries += 1;
        message.textContent = STRINGS.lost;
        message.hidden = false;
        setTimeout(() => open(false), 1000);
        return;
      }
      forget();
      showStatus("ended", STRINGS.gone);
    });
  }

  // -- media ------------------------------------------------------------------
  let pc = null;
  let videoCodec = "VP8";
  let local = null;
  let screenSender = null;
  let channel = null;
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

  function setMedia(state) { media.dataset.state = state; media.hidden = state === "off"; }
  function showMediaError(text) { mediaError.textContent = text || ""; mediaError.hidden = !text; }

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

  function gathered() {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (pc.iceGatheringState === "complete") {
          pc.removeEventListener("icegatheringstatechange", check);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  function negotiate() {
    // offers go out one at a time; each waits for its answer
    negotiating = negotiating.then(async () => {
      if (!pc || !socket || socket.readyState !== WebSocket.OPEN) return;
      setMedia("negotiating");
      await pc.setLocalDescription(await pc.createOffer());
      await gathered();  // the bridge takes no trickled candidates
      const answer = new Promise((resolve) => { answered = resolve; });
      socket.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
      await answer;
    }).catch((e) => { setMedia("failed"); showMediaError(STRINGS.mediaFailed); });
    return negotiating;
  }

  async function onAnswer(msg) {
    if (!pc) return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      setMedia("live");
    } catch (e) {
      setMedia("failed");
      showMediaError(STRINGS.mediaFailed);
    }
    if (answered) { answered(); answered = null; }
  }

  async function startMedia(config) {
    if (pc || ended) return;
    videoCodec = config.video_codec || "VP8";
    setMedia("starting");
    try {
      local = await navigator.mediaDevices.getUserMedia({
        audio: true, video: { width: 640, height: 480 } });
      localVideo.srcObject = local;
    } catch (e) {
      showMediaError(STRINGS.noDevices);
      local = null;
    }
    if (ended) { stopMedia(); return; }
    pc = new RTCPeerConnection(config.rtc || {});
    const mic = local && local.getAudioTracks()[0];
    const cam = local && local.getVideoTracks()[0];
    pc.addTransceiver(mic || "audio", { direction: "sendrecv" });
    const camera = pc.addTransceiver(cam || "video", { direction: cam ? "sendrecv" : "recvonly" });
    preferCodec(camera, videoCodec);
    preferCodec(pc.addTransceiver("video", { direction: "recvonly" }), videoCodec);
    channel = pc.createDataChannel("vidline", { ordered: true });
    const peer = pc;
    window.vidlineMedia = { pc: pc, channel: channel,
      send: (text) => sendParts(peer, channel, String(text)) };
    pc.addEventListener("track", (event) => {
      const stream = new MediaStream([event.track]);
      if (event.track.kind === "audio") { remoteAudio.srcObject = stream; return; }
      const videos = pc.getTransceivers().filter((t) => t.receiver.track.kind === "video");
      const index = videos.indexOf(event.transceiver);
      if (index === 0) remoteVideo.srcObject = stream;
      else if (index === 1) remoteScreen.srcObject = stream;
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc && pc.connectionState === "failed") {
        setMedia("failed");
        showMediaError(STRINGS.mediaFailed);
      }
    });
    negotiate();
  }

  async function toggleShare() {
    if (!pc) return;
    if (screenSender) {  // stop: the m-line stays, inactive, so the layout never shifts
      const track = screenSender.track;
      if (track) track.stop();
      await screenSender.replaceTrack(null);
      const t = pc.getTransceivers().find((x) => x.sender === screenSender);
      if (t) t.direction = "inactive";
      screenSender = null;
      share.dataset.sharing = "false";
      share.textContent = STRINGS.share;
      return negotiate();
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      return;  // the customer cancelled the picker
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
    share.dataset.sharing = "true";
    share.textContent = STRINGS.stopShare;
    return negotiate();
  }

  function stopMedia() {
    if (local) for (const track of local.getTracks()) track.stop();
    if (screenSender && screenSender.track) screenSender.track.stop();
    if (pc) pc.close();
    pc = null;
    local = null;
    screenSender = null;
    channel = null;
    if (media.dataset.state !== "off") setMedia("ended");
  }

  share.addEventListener("click", toggleShare);

  hangup.addEventListener("click", () => {
    hangup.disabled = true;
    hangupWanted = true;  // sent now, or as soon as a reconnect opens
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "hangup" }));
    }
  });
  restart.addEventListener("click", () => {
    current = null;
    setMedia("off");
    showMediaError("");
    submit.disabled = false;
    hangup.disabled = false;
    hangupWanted = false;
    showError("");
    setState("form");
    customerId.focus();
  });
  form.addEventListener("submit", request);

  function mount() {
    addStyles();
    const target = data.target ? document.querySelector(data.target) : null;
    if (target) target.append(root); else script.after(root);
    showError("");
    setState("form");
    loadConfig();
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { /* none */ }
    if (saved && saved.id && saved.token && saved.ws_url) {
      current = saved;  // a reload while in line: reattach within the grace period
      showStatus("created", STRINGS.placing);
      open(true);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
