/* vidline customer widget: one file, embeddable with one tag:
 *
 *   <div id="help"></div>
 *   <script src="https://vidline.example.com/widget/vidline.js" data-target="#help"
 *           data-categories="billing,technical" data-customer-id="C-1042"
 *           data-kiosk="Lobby 2" data-extra='{"plan":"gold"}' defer></script>
 *
 * Attributes (all optional; the page URL is added to the request automatically):
 *   data-target         where the widget renders (default: a new element after the tag)
 *   data-customer-id    the customer's number, known to the site (the field is then hidden)
 *   data-phone          the customer's phone number (the field is then hidden)
 *   data-categories     comma list: the topics offered here, a subset of the configured ones;
 *                       one topic hides the picker
 *   data-category       the topic selected first
 *   data-kiosk          the kiosk location sent with the request
 *   data-extra          a JSON object of extra string values
 *   data-lang           the language (default: the browser's; English when not translated)
 *   data-device-check   "auto" (default: the call starts at once when camera and microphone
 *                       work, the check stops only to explain a problem) | "always" (the
 *                       customer sees the preview and presses "Start video chat")
 *   data-hidden         render hidden until Vidline.open() is called
 *   data-kiosk-mode     kiosk mode: full screen, large touch targets, resets itself
 *                       data-kiosk-reset seconds (default 120) after the last touch and
 *                       data-kiosk-after-call seconds (default 15) after a call; without
 *                       data-kiosk, the page's ?kiosk= parameter is the location
 *                       (see kiosk.html beside this file)
 *
 * JS API (window.Vidline; every method may be called before the widget has loaded):
 *   Vidline.open(context?)       show the widget (and set the context) -> Promise<state>
 *   Vidline.call(context?)       open and start the call (device check, then the line)
 *   Vidline.hangup()             leave the line / end the call
 *   Vidline.reset()              back to an empty form (ends a running call)
 *   Vidline.close()              hide the widget (when no call is running)
 *   Vidline.setContext(context)  context keys: customerId, phone, categories (array),
 *                                category, kioskLocation, extra (object of strings)
 *   Vidline.on(event, fn) / Vidline.off(event, fn); Vidline.state
 *   events: "state" {state, reason?}, "devices" {state, problem?, audio, video},
 *           "chat" (a chat message), "cobrowse" {state: asked|on|off|declined},
 *           "ended" {reason}, "reset" {}
 *
 * Stable element ids (browser tests rely on them):
 *   #vl-widget       the root; data-state = form | devices | sending | created | originating |
 *                    queued | ringing | connected | ended | error; data-kiosk = true in kiosk
 *                    mode; data-resets = how many times the kiosk reset itself
 *   #vl-intro        the kiosk's welcome line (kiosk mode only)
 *   #vl-form         the request form: #vl-customer-id, #vl-phone, #vl-category, #vl-check
 *                    (test camera and microphone first), #vl-submit; each field in a
 *                    #<field id>-field wrapper (hidden when the site gives the value)
 *   #vl-error        the form's error message (role=alert); data-field = the refused field
 *   #vl-devices      the device check; data-state = checking | ok | problem, data-problem =
 *                    denied | nodevice | busy | insecure | failed; #vl-preview, #vl-mic-level,
 *                    #vl-devices-message, #vl-devices-help, #vl-call (start),
 *                    #vl-devices-retry, #vl-devices-continue (audio only / without devices),
 *                    #vl-devices-back
 *   #vl-status       the live status region (role=status); data-state as #vl-widget;
 *                    contains #vl-message, #vl-position ("N of M in line"), #vl-wait
 *   #vl-hangup       hang up / leave the line
 *   #vl-restart      shown once ended: back to the form
 *   #vl-media        the call's media; data-state = off | starting | negotiating | live |
 *                    failed | ended
 *   #vl-local-video  the customer's own camera (muted preview)
 *   #vl-remote-video the agent's camera; #vl-remote-screen the agent's shared screen
 *   #vl-remote-audio what the PBX sends: music on hold, announcements, the agent's voice
 *   #vl-mute, #vl-camera  microphone / camera off (aria-pressed = true while off)
 *   #vl-share        start / stop sharing the customer's screen; data-sharing = true | false
 *   #vl-media-error  the last media problem (role=alert)
 *   #vl-chat         the chat (hidden until connected; stays readable after the call):
 *                    #vl-chat-log (<ol>, <li data-from="customer|agent" data-id=n>),
 *                    #vl-chat-form, #vl-chat-input, #vl-chat-send, #vl-chat-typing,
 *                    #vl-chat-error
 *   #vl-cobrowse-consent  the agent's request to see this page: #vl-cobrowse-accept,
 *                    #vl-cobrowse-decline; #vl-cobrowse-on (shown while on): #vl-cobrowse-stop
 *
 * Media (WebRTC to vidline's bridge, which answers; this page always offers): m-lines in
 * this order: audio (mic), video[0] camera both ways, video[1] the agent's screen
 * (receive only), video[2] this page's screen (added when sharing starts). One ordered
 * data channel "vidline" carrying JSON {"t": kind, ...}; kinds cobrowse-* (and "chunk"
 * pieces) go to cobrowse.js, loaded from beside this file when the agent asks and the
 * customer accepts. window.vidlineMedia exposes the peer connection, the channel and
 * send(text) (split under the peer's maximum message size).
 *
 * Strings: every customer-visible text is in the EN catalogue below (the source of
 * truth). A translation is a JSON file strings/<lang>.json beside this file with the
 * same keys ("{name}" placeholders kept); missing keys fall back to English. The server
 * picks the language from the browser's list (GET /api/v1/config/public?lang=...).
 * Text is only ever set as text, never as markup.
 */
(function () {
  "use strict";

  if (window.Vidline && window.Vidline.version) return;  // the tag twice: one widget

  /* The English catalogue: plain JSON between the markers (a unit test reads it). */
  const EN = /* STRINGS-BEGIN */ {
    "widget": "Video help",
    "title": "Talk to us on video",
    "customerId": "Customer number (optional)",
    "phone": "Phone number (optional)",
    "category": "What is it about?",
    "check": "Test camera and microphone",
    "submit": "Start video chat",
    "devicesTitle": "Camera and microphone",
    "checking": "Checking your camera and microphone…",
    "devicesOk": "Your camera and microphone work. You can start the video chat.",
    "preview": "Preview of your camera",
    "micLevel": "Microphone level",
    "deviceCamera": "camera",
    "deviceMicrophone": "microphone",
    "deviceBoth": "camera and microphone",
    "problemDenied": "Your browser is blocking the {device} for this page.",
    "helpDenied": "Click the camera or lock icon in the address bar, choose \"Allow\", then press \"Try again\".",
    "problemNodevice": "We could not find a {device}.",
    "helpNodevice": "Connect one or check that it is switched on, then press \"Try again\".",
    "problemBusy": "Your {device} is being used by another program.",
    "helpBusy": "Close other programs that may use it (video calls, camera apps), then press \"Try again\".",
    "problemInsecure": "This page is not allowed to use a camera or microphone.",
    "helpInsecure": "Open this page with a secure address (https://) or in another browser.",
    "problemFailed": "Your {device} could not be started.",
    "helpFailed": "Press \"Try again\". If it keeps failing, restart your browser.",
    "noCameraNote": "You can go on without a camera: the agent will hear you but not see you.",
    "noMicNote": "You can go on without a microphone: the agent will see you but not hear you; you can write in the chat.",
    "noDevicesNote": "You can go on without them: the agent will neither see nor hear you, but you will hear the agent and can write in the chat.",
    "retry": "Try again",
    "continueAudio": "Continue with audio only",
    "continueVideo": "Continue without microphone",
    "continueNone": "Continue without camera and microphone",
    "call": "Start video chat",
    "back": "Back",
    "sending": "Sending your request…",
    "placing": "Finding you a place in line…",
    "queued": "You are in line. Please keep this page open.",
    "position": "{n} of {m} in line",
    "waitUnder": "Expected wait: under a minute",
    "wait": "Expected wait: about {min} min",
    "ringing": "An agent is being connected",
    "connected": "Connected with {agent}",
    "anAgent": "an agent",
    "ended.customer_left": "You ended the call.",
    "ended.agent_left": "The agent ended the call.",
    "ended.abandoned": "You left the line.",
    "ended.queue_timeout": "No agent could take your call. Please try again later.",
    "ended.failed": "We could not place your call. Please try again later.",
    "ended.pbx_lost": "The call was interrupted. Please try again.",
    "endedOther": "The call has ended.",
    "hangup": "Hang up",
    "leave": "Leave the line",
    "restart": "Start again",
    "localVideo": "Your camera",
    "remoteVideo": "The agent's camera",
    "remoteScreen": "The agent's screen",
    "controls": "Call controls",
    "mute": "Mute",
    "unmute": "Unmute",
    "cameraOff": "Camera off",
    "cameraOn": "Camera on",
    "share": "Share my screen",
    "stopShare": "Stop sharing",
    "noDevices": "Camera or microphone not available: the agent will not see or hear you.",
    "mediaFailed": "The video connection failed.",
    "lost": "Connection lost. Reconnecting…",
    "gone": "The connection to the service was lost.",
    "configFailed": "The service is not available right now.",
    "rateLimited": "Too many requests. Please wait a moment and try again.",
    "tooLarge": "The request is too large.",
    "requestFailed": "Your request could not be sent. Please try again.",
    "invalid": "{label}: {message}",
    "field.customer_id": "Customer number",
    "field.phone": "Phone number",
    "field.category": "Topic",
    "field.page_url": "Page address",
    "field.kiosk_location": "Kiosk",
    "field.extra": "Extra data",
    "field.body": "Request",
    "chatTitle": "Chat",
    "chatLog": "Chat messages",
    "chatInput": "Your message",
    "chatPlaceholder": "Write a message…",
    "chatSend": "Send",
    "chatTyping": "The agent is typing…",
    "chatYou": "You",
    "chatAgent": "Agent",
    "chatNotSent": "Not sent: the connection is down. Please try again in a moment.",
    "chatTooLong": "A message has at most 2000 characters.",
    "cobrowseAsk": "The agent asks to see this page with you, to guide you. They will see this page only, not your other tabs or programs; what you type in fields stays hidden.",
    "cobrowseAccept": "Allow",
    "cobrowseDecline": "No, thanks",
    "cobrowseOn": "The agent can see this page.",
    "cobrowseStop": "Stop showing this page",
    "cobrowseFailed": "Showing this page did not work.",
    "kioskWelcome": "Touch \"Start video chat\" to talk to us."
  } /* STRINGS-END */;

  const CSS = `
    .vl-widget { --vl-accent: #1a56db; font: 16px/1.45 system-ui, sans-serif; max-width: 26rem;
      padding: 1rem; border: 1px solid #8886; border-radius: .6rem; display: grid; gap: .7rem;
      box-sizing: border-box; min-width: 0; }
    .vl-widget *, .vl-widget *::before, .vl-widget *::after { box-sizing: border-box; }
    .vl-widget[hidden], .vl-widget [hidden] { display: none !important; }
    .vl-widget h2 { font-size: 1.15rem; margin: 0; }
    .vl-widget h3 { font-size: 1rem; margin: 0; }
    .vl-widget p { margin: 0; }
    .vl-widget form { display: grid; gap: .5rem; min-width: 0; }
    .vl-widget .vl-field { display: grid; gap: .2rem; min-width: 0; }
    .vl-widget label { font-weight: 600; }
    .vl-widget input, .vl-widget select, .vl-widget button { font: inherit; padding: .5rem .75rem;
      min-height: 2.75rem; max-width: 100%; min-width: 0; border-radius: .4rem;
      border: 1px solid #8889; }
    .vl-widget button { cursor: pointer; background: #eef1f5; color: #111; }
    .vl-widget .vl-primary { background: var(--vl-accent); border-color: var(--vl-accent);
      color: #fff; font-weight: 600; }
    .vl-widget .vl-danger { background: #b3261e; border-color: #b3261e; color: #fff;
      font-weight: 600; }
    .vl-widget button[aria-pressed="true"] { background: #333; color: #fff; }
    .vl-widget button:disabled { opacity: .55; cursor: not-allowed; }
    .vl-widget button:focus-visible, .vl-widget input:focus-visible,
    .vl-widget select:focus-visible { outline: 3px solid var(--vl-accent); outline-offset: 2px; }
    .vl-widget [aria-invalid="true"] { border-color: #b3261e; }
    .vl-widget .vl-error { color: #b3261e; font-weight: 600; }
    .vl-widget .vl-note { color: #555; font-size: .9rem; }
    .vl-widget .vl-actions { display: flex; flex-wrap: wrap; gap: .5rem; }
    .vl-widget .vl-actions > button { flex: 1 1 auto; }
    .vl-widget .vl-sr { position: absolute; width: 1px; height: 1px; overflow: hidden;
      clip: rect(0 0 0 0); white-space: nowrap; }
    .vl-widget #vl-position { font-size: 1.3rem; font-weight: 700; }
    .vl-widget video { width: 100%; background: #111; border-radius: .4rem; display: block; }
    .vl-widget .vl-stage { position: relative; }
    .vl-widget #vl-remote-video { aspect-ratio: 4 / 3; object-fit: cover; }
    .vl-widget #vl-remote-screen:not([data-live]) { display: none; }
    .vl-widget #vl-remote-video:not([data-live]) { display: none; }
    .vl-widget #vl-remote-video[data-live] + #vl-local-video { position: absolute; right: .5rem;
      bottom: .5rem; width: 30%; border: 2px solid #fff; }
    .vl-widget #vl-local-video, .vl-widget #vl-preview { aspect-ratio: 4 / 3; object-fit: cover;
      transform: scaleX(-1); }  /* a self view is a mirror */
    .vl-widget meter { width: 100%; height: .8rem; }
    .vl-widget .vl-box { border: 1px solid #8886; border-radius: .5rem; padding: .7rem;
      display: grid; gap: .5rem; }
    .vl-widget #vl-cobrowse-consent { border: 2px solid var(--vl-accent); }
    .vl-widget #vl-cobrowse-on { background: #e6f4ea; border-color: #1e8e3e; }
    .vl-widget #vl-chat-log { list-style: none; margin: 0; padding: 0; max-height: 14rem;
      overflow-y: auto; display: grid; gap: .4rem; }
    .vl-widget #vl-chat-log li { padding: .35rem .6rem; border-radius: .5rem; max-width: 85%;
      overflow-wrap: anywhere; white-space: pre-wrap; background: #eef1f5; color: #111; }
    .vl-widget #vl-chat-log li[data-from="customer"] { justify-self: end; background: #dbe7ff; }
    .vl-widget .vl-chat-who { font-weight: 600; font-size: .8rem; margin-right: .4rem; }
    .vl-widget .vl-chat-at { font-size: .75rem; color: #555; }
    .vl-widget #vl-chat-form { display: flex; gap: .4rem; }
    .vl-widget #vl-chat-input { flex: 1 1 auto; }
    .vl-widget.vl-kiosk { position: fixed; inset: 0; z-index: 2147483000; max-width: none;
      border: 0; border-radius: 0; overflow-y: auto; font-size: 22px; padding: 2rem;
      background: #fff; color: #111; align-content: start; }
    .vl-widget.vl-kiosk > * { max-width: 48rem; width: 100%; justify-self: center; }
    .vl-widget.vl-kiosk h2 { font-size: 2rem; }
    .vl-widget.vl-kiosk input, .vl-widget.vl-kiosk select,
    .vl-widget.vl-kiosk button { min-height: 4rem; font-size: 1.1em; padding: .8rem 1.2rem; }
    .vl-widget.vl-kiosk .vl-primary { min-height: 5rem; font-size: 1.3em; }
    .vl-widget.vl-kiosk #vl-chat-log { max-height: 30vh; }`;

  const script = document.currentScript;
  const base = new URL("..", script.src);  // the widget lives at <base>/widget/vidline.js
  const STORE = "vidline.interaction";
  const data = script.dataset;
  const KIOSK = "kioskMode" in data;
  const LIVE = ["created", "originating", "queued", "ringing", "connected"];
  const VIDEO = { width: 640, height: 480 };
  const seconds = (v, fallback) => (Number(v) > 0 ? Number(v) : fallback);
  const KIOSK_IDLE = seconds(data.kioskReset, 120);
  const KIOSK_AFTER_CALL = seconds(data.kioskAfterCall, 15);

  const listRe = /[^,\s]+/g;
  const ctx = {
    customerId: data.customerId || "",
    phone: data.phone || "",
    categories: data.categories ? data.categories.match(listRe) || [] : [],
    category: data.category || "",
    kioskLocation: data.kiosk || (KIOSK ? new URLSearchParams(location.search).get("kiosk")
      || "" : ""),
    extra: null,
    lang: data.lang || "",
  };
  if (data.extra) {
    try { ctx.extra = JSON.parse(data.extra); } catch (e) { /* ignored: the site's bug */ }
  }

  let S = EN;
  let lang = "en";
  let config = { categories: [], cobrowse: false };
  const ui = {};
  let socket = null;
  let current = null;  // {id, token, ws_url}
  let ended = false;
  let retries = 0;
  let hangupWanted = false;
  let resets = 0;

  // -- strings, events, helpers ----------------------------------------------
  function t(key, vars) {
    const own = Object.prototype.hasOwnProperty;
    let text = own.call(S, key) && typeof S[key] === "string" ? S[key] : EN[key];
    if (typeof text !== "string") text = key;
    return text.replace(/\{(\w+)\}/g, (m, k) => (vars && own.call(vars, k) ? String(vars[k]) : m));
  }

  const listeners = new Map();
  function emit(event, detail) {
    for (const fn of listeners.get(event) || []) {
      try { fn(detail); } catch (e) { console.error("vidline: a listener failed", e); }
    }
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(id, key, cls) {
    return el("button", { id: id, type: "button", class: cls || "" }, t(key));
  }

  function field(input, key) {
    const wrap = el("div", { class: "vl-field", id: input.id + "-field" });
    wrap.append(el("label", { for: input.id }, t(key)), input);
    return wrap;
  }

  function addStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);  // CSSOM: allowed under a strict style-src CSP
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    } catch (e) { /* an old browser: unstyled but working */ }
  }

  function stopStream(stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  }

  // -- the DOM ------------------------------------------------------------
  function build() {
    ui.root = el("section", { id: "vl-widget", class: "vl-widget", "aria-labelledby": "vl-title",
      "data-state": "form", lang: lang });
    if (["ar", "fa", "he", "ur"].includes(lang.split("-")[0])) ui.root.dir = "rtl";
    if (KIOSK) { ui.root.classList.add("vl-kiosk"); ui.root.dataset.kiosk = "true"; }
    if ("hidden" in data) ui.root.hidden = true;
    ui.title = el("h2", { id: "vl-title" }, t("title"));
    ui.intro = el("p", { id: "vl-intro" }, KIOSK ? t("kioskWelcome") : "");
    ui.intro.hidden = !KIOSK;

    ui.form = el("form", { id: "vl-form", novalidate: "" });
    ui.customerId = el("input", { id: "vl-customer-id", name: "customer_id", maxlength: "64",
      autocomplete: "off" });
    ui.phone = el("input", { id: "vl-phone", name: "phone", type: "tel", maxlength: "32",
      autocomplete: "tel" });
    ui.category = el("select", { id: "vl-category", name: "category" });
    ui.check = button("vl-check", "check");
    ui.submit = el("button", { id: "vl-submit", type: "submit", class: "vl-primary" },
      t("submit"));
    ui.form.append(field(ui.customerId, "customerId"), field(ui.phone, "phone"),
      field(ui.category, "category"), el("div", { class: "vl-actions" }));
    ui.form.lastChild.append(ui.check, ui.submit);
    ui.error = el("p", { id: "vl-error", class: "vl-error", role: "alert" });

    ui.devices = el("section", { id: "vl-devices", "aria-labelledby": "vl-devices-title",
      hidden: "" });
    ui.preview = el("video", { id: "vl-preview", autoplay: "", playsinline: "",
      "aria-label": t("preview") });
    ui.preview.muted = true;
    ui.level = el("meter", { id: "vl-mic-level", min: "0", max: "1", value: "0",
      "aria-label": t("micLevel") });
    ui.devicesMessage = el("p", { id: "vl-devices-message", role: "alert" });
    ui.devicesHelp = el("p", { id: "vl-devices-help" });
    ui.devicesNote = el("p", { id: "vl-devices-note", class: "vl-note" });
    ui.call = button("vl-call", "call", "vl-primary");
    ui.retry = button("vl-devices-retry", "retry");
    ui.continue = button("vl-devices-continue", "continueNone");
    ui.back = button("vl-devices-back", "back");
    const deviceActions = el("div", { class: "vl-actions" });
    deviceActions.append(ui.call, ui.retry, ui.continue, ui.back);
    ui.devices.append(el("h3", { id: "vl-devices-title", tabindex: "-1" }, t("devicesTitle")),
      ui.preview, ui.level, ui.devicesMessage, ui.devicesHelp, ui.devicesNote, deviceActions);
    ui.devices.classList.add("vl-box");

    ui.status = el("div", { id: "vl-status", role: "status", "aria-live": "polite",
      "data-state": "form" });
    ui.message = el("p", { id: "vl-message" });
    ui.position = el("p", { id: "vl-position" });
    ui.wait = el("p", { id: "vl-wait" });
    ui.status.append(ui.message, ui.position, ui.wait);

    ui.consent = el("div", { id: "vl-cobrowse-consent", class: "vl-box", role: "alertdialog",
      "aria-labelledby": "vl-cobrowse-question", hidden: "" });
    ui.accept = button("vl-cobrowse-accept", "cobrowseAccept", "vl-primary");
    ui.decline = button("vl-cobrowse-decline", "cobrowseDecline");
    ui.consent.append(el("p", { id: "vl-cobrowse-question" }, t("cobrowseAsk")),
      el("div", { class: "vl-actions" }));
    ui.consent.lastChild.append(ui.accept, ui.decline);
    ui.cobrowseOn = el("div", { id: "vl-cobrowse-on", class: "vl-box", role: "status",
      hidden: "" });
    ui.cobrowseStop = button("vl-cobrowse-stop", "cobrowseStop");
    ui.cobrowseOn.append(el("p", {}, t("cobrowseOn")), ui.cobrowseStop);

    ui.media = el("div", { id: "vl-media", "data-state": "off", hidden: "" });
    ui.localVideo = el("video", { id: "vl-local-video", autoplay: "", playsinline: "",
      "aria-label": t("localVideo") });
    ui.localVideo.muted = true;
    ui.remoteVideo = el("video", { id: "vl-remote-video", autoplay: "", playsinline: "",
      "aria-label": t("remoteVideo") });
    ui.remoteScreen = el("video", { id: "vl-remote-screen", autoplay: "", playsinline: "",
      "aria-label": t("remoteScreen") });
    ui.remoteAudio = el("audio", { id: "vl-remote-audio", autoplay: "" });
    ui.mute = el("button", { id: "vl-mute", type: "button", "aria-pressed": "false" }, t("mute"));
    ui.camera = el("button", { id: "vl-camera", type: "button", "aria-pressed": "false" },
      t("cameraOff"));
    ui.share = el("button", { id: "vl-share", type: "button", "data-sharing": "false" },
      t("share"));
    ui.mediaError = el("p", { id: "vl-media-error", class: "vl-error", role: "alert",
      hidden: "" });
    const stage = el("div", { class: "vl-stage" });
    stage.append(ui.remoteVideo, ui.localVideo);
    ui.controls = el("div", { id: "vl-controls", class: "vl-actions", role: "group",
      "aria-label": t("controls") });
    ui.controls.append(ui.mute, ui.camera, ui.share);
    ui.media.append(stage, ui.remoteScreen, ui.remoteAudio, ui.controls, ui.mediaError);

    ui.chat = el("section", { id: "vl-chat", class: "vl-box", "aria-labelledby": "vl-chat-title",
      hidden: "" });
    ui.chatLog = el("ol", { id: "vl-chat-log", role: "log", "aria-live": "polite",
      "aria-label": t("chatLog") });
    ui.chatTyping = el("p", { id: "vl-chat-typing", class: "vl-note", hidden: "" },
      t("chatTyping"));
    ui.chatError = el("p", { id: "vl-chat-error", class: "vl-error", role: "alert", hidden: "" });
    ui.chatForm = el("form", { id: "vl-chat-form", novalidate: "" });
    ui.chatInput = el("input", { id: "vl-chat-input", type: "text", maxlength: "2000",
      autocomplete: "off", placeholder: t("chatPlaceholder") });
    ui.chatSend = el("button", { id: "vl-chat-send", type: "submit", class: "vl-primary" },
      t("chatSend"));
    ui.chatForm.append(el("label", { for: "vl-chat-input", class: "vl-sr" }, t("chatInput")),
      ui.chatInput, ui.chatSend);
    ui.chat.append(el("h3", { id: "vl-chat-title" }, t("chatTitle")), ui.chatLog, ui.chatTyping,
      ui.chatError, ui.chatForm);

    ui.hangup = el("button", { id: "vl-hangup", type: "button", class: "vl-danger" }, t("leave"));
    ui.restart = el("button", { id: "vl-restart", type: "button", class: "vl-primary" },
      t("restart"));
    ui.root.append(ui.title, ui.intro, ui.form, ui.error, ui.devices, ui.status, ui.consent,
      ui.cobrowseOn, ui.media, ui.chat, ui.hangup, ui.restart);
  }

  function focusables(node) {
    return [...node.querySelectorAll("button, input, select")]
      .filter((n) => !n.disabled && n.getClientRects().length > 0);
  }

  let focusInside = false;  // the customer's focus is in the widget (or was, on a now hidden node)

  function setState(state, reason) {
    const before = ui.root.dataset.state;
    ui.root.dataset.state = state;
    ui.status.dataset.state = state;
    ui.form.hidden = !(state === "form" || state === "error");
    ui.intro.hidden = !KIOSK || ui.form.hidden;
    ui.devices.hidden = state !== "devices";
    ui.status.hidden = state === "form" || state === "error" || state === "devices";
    ui.hangup.hidden = !LIVE.includes(state);
    ui.hangup.textContent = state === "connected" ? t("hangup") : t("leave");
    ui.restart.hidden = state !== "ended";
    ui.chat.hidden = !(state === "connected" || (state === "ended" && ui.chatLog.children.length));
    ui.chatInput.disabled = state !== "connected";
    ui.chatSend.disabled = state !== "connected";
    if (state !== "connected") ui.chatTyping.hidden = true;
    // a keyboard user whose button just disappeared lands on the next thing to do
    const active = document.activeElement;
    if (focusInside && (!active || active === document.body
        || (ui.root.contains(active) && active.getClientRects().length === 0))) {
      const target = state === "ended" ? ui.restart : LIVE.includes(state) ? ui.hangup
        : focusables(state === "devices" ? ui.devices : ui.form)[0];
      if (target) target.focus();
    }
    if (before !== state) emit("state", reason ? { state, reason } : { state });
    kioskArm();
  }

  function showStatus(state, text, pos, waitText, reason) {
    setState(state, reason);
    ui.message.textContent = text || "";
    ui.position.textContent = pos || "";
    ui.wait.textContent = waitText || "";
    ui.message.hidden = !text;
    ui.position.hidden = !pos;
    ui.wait.hidden = !waitText;
  }

  function showError(text, fieldName) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
    if (fieldName) ui.error.dataset.field = fieldName; else delete ui.error.dataset.field;
    const inputs = [ui.customerId, ui.phone, ui.category];
    for (const input of inputs) {
      input.setAttribute("aria-invalid", String(!!fieldName && input.name === fieldName));
    }
    const bad = inputs.find((i) => i.name === fieldName);
    if (bad) bad.focus();
  }

  // -- configuration and context ----------------------------------------------
  async function loadConfig() {
    const wanted = [ctx.lang, ...(navigator.languages || [navigator.language || ""])]
      .filter((x) => typeof x === "string" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(x))
      .slice(0, 6);
    const url = new URL("api/v1/config/public", base);
    if (wanted.length) url.searchParams.set("lang", wanted.join(","));
    const response = await fetch(url);
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    config = { categories: Array.isArray(body.categories) ? body.categories : [],
      cobrowse: body.cobrowse === true };
    if (body.strings && typeof body.strings === "object" && typeof body.lang === "string") {
      S = body.strings;
      lang = body.lang;
    }
  }

  function applyContext() {
    const offered = ctx.categories.filter((c) => config.categories.includes(c));
    const list = offered.length ? offered : config.categories;
    const keep = ctx.category || ui.category.value;
    ui.category.replaceChildren(...list.map((c) => {
      const label = t("category." + c);
      return el("option", { value: c }, label === "category." + c ? c : label);
    }));
    if (list.includes(keep)) ui.category.value = keep;
    ui.root.querySelector("#vl-category-field").hidden = list.length === 1;
    ui.customerId.value = ctx.customerId;
    ui.phone.value = ctx.phone;
    ui.root.querySelector("#vl-customer-id-field").hidden = !!data.customerId
      || !!ctx.fromApiCustomerId;
    ui.root.querySelector("#vl-phone-field").hidden = !!data.phone || !!ctx.fromApiPhone;
  }

  function setContext(c) {
    if (!c || typeof c !== "object") return;
    const text = (v) => typeof v === "string" || typeof v === "number";
    if (text(c.customerId)) { ctx.customerId = String(c.customerId); ctx.fromApiCustomerId = true; }
    if (text(c.phone)) { ctx.phone = String(c.phone); ctx.fromApiPhone = true; }
    if (Array.isArray(c.categories)) ctx.categories = c.categories.filter(text).map(String);
    if (text(c.category)) ctx.category = String(c.category);
    if (text(c.kioskLocation)) ctx.kioskLocation = String(c.kioskLocation);
    if (c.extra && typeof c.extra === "object") ctx.extra = c.extra;
    if (ui.root && ["form", "error"].includes(ui.root.dataset.state)) applyContext();
  }

  function contextFromForm() {
    const context = {
      customer_id: ui.customerId.value.trim(),
      phone: ui.phone.value.trim(),
      category: ui.category.value,
    };
    const href = location.href;
    if (/^https?:/.test(href) && href.length <= 2048) context.page_url = href;
    if (ctx.kioskLocation) context.kiosk_location = ctx.kioskLocation;
    if (ctx.extra) context.extra = ctx.extra;
    return context;
  }

  // -- the device check ---------------------------------------------------------
  let plan = null;   // how the customer calls: {stream, audio, video}
  let probe = null;  // the device check's result while it is on screen
  let meterStop = null;
  let checkRun = 0;

  function deviceProblem(e) {
    const name = e && e.name;
    if (["NotAllowedError", "PermissionDeniedError", "SecurityError"].includes(name)) {
      return "denied";
    }
    if (["NotFoundError", "DevicesNotFoundError", "OverconstrainedError"].includes(name)) {
      return "nodevice";
    }
    if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) return "busy";
    return "failed";
  }

  async function tryMedia(constraints) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints) };
    } catch (e) {
      return { problem: deviceProblem(e) };
    }
  }

  async function probeDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return { stream: null, audio: false, video: false, problem: "insecure", missing: "both" };
    }
    const both = await tryMedia({ audio: true, video: VIDEO });
    if (both.stream) return { stream: both.stream, audio: true, video: true, problem: null };
    // which one fails? The customer may go on with the other
    const audio = await tryMedia({ audio: true });
    if (audio.stream) {
      return { stream: audio.stream, audio: true, video: false, problem: both.problem,
        missing: "camera" };
    }
    const video = await tryMedia({ video: VIDEO });
    if (video.stream) {
      return { stream: video.stream, audio: false, video: true, problem: audio.problem,
        missing: "microphone" };
    }
    return { stream: null, audio: false, video: false, problem: audio.problem || both.problem,
      missing: "both" };
  }

  function startMeter(stream) {
    stopMeter();
    const track = stream && stream.getAudioTracks()[0];
    ui.level.hidden = !track;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!track || !Context) return;
    const audio = new Context();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let frame = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
      ui.level.value = Math.min(1, peak * 2);
      frame = requestAnimationFrame(tick);
    };
    tick();
    meterStop = () => { cancelAnimationFrame(frame); audio.close().catch(() => {}); };
  }

  function stopMeter() {
    if (meterStop) meterStop();
    meterStop = null;
  }

  function releaseProbe() {
    checkRun += 1;  // a check still running drops its result
    stopMeter();
    if (probe) stopStream(probe.stream);
    probe = null;
    ui.preview.srcObject = null;
  }

  async function runCheck(auto) {
    releaseProbe();
    const run = checkRun;
    showError("");
    ui.devices.dataset.state = "checking";  // first: a kiosk does not count this as idle
    setState("devices");
    delete ui.devices.dataset.problem;
    ui.devicesMessage.textContent = t("checking");
    ui.devicesHelp.hidden = true;
    ui.devicesNote.hidden = true;
    ui.preview.hidden = true;
    ui.level.hidden = true;
    for (const b of [ui.call, ui.retry, ui.continue]) b.hidden = true;
    emit("devices", { state: "checking" });
    const result = await probeDevices();
    if (run !== checkRun || ui.root.dataset.state !== "devices") {
      stopStream(result.stream);  // the customer went back meanwhile
      return;
    }
    probe = result;
    ui.preview.hidden = !result.video;
    ui.preview.srcObject = result.video ? result.stream : null;
    startMeter(result.stream);
    emit("devices", { state: result.problem ? "problem" : "ok", problem: result.problem,
      audio: result.audio, video: result.video });
    if (!result.problem) {
      if (auto) { callWith(); return; }
      ui.devices.dataset.state = "ok";
      kioskArm();
      ui.devicesMessage.textContent = t("devicesOk");
      ui.call.hidden = false;
      ui.call.focus();
      return;
    }
    const cap = result.problem[0].toUpperCase() + result.problem.slice(1);
    const device = t({ camera: "deviceCamera", microphone: "deviceMicrophone" }[result.missing]
      || "deviceBoth");
    ui.devices.dataset.state = "problem";
    kioskArm();
    ui.devices.dataset.problem = result.problem;
    ui.devicesMessage.textContent = t("problem" + cap, { device });
    ui.devicesHelp.textContent = t("help" + cap, { device });
    ui.devicesHelp.hidden = false;
    ui.devicesNote.textContent = t(result.audio ? "noCameraNote" : result.video ? "noMicNote"
      : "noDevicesNote");
    ui.devicesNote.hidden = false;
    ui.continue.textContent = result.audio ? t("continueAudio")
      : result.video ? t("continueVideo") : t("continueNone");
    ui.retry.hidden = result.problem === "insecure";
    ui.continue.hidden = false;
    (ui.retry.hidden ? ui.continue : ui.retry).focus();
  }

  function callWith() {
    const chosen = probe || { stream: null, audio: false, video: false };
    stopMeter();
    probe = null;
    ui.preview.srcObject = null;
    plan = { stream: chosen.stream, audio: chosen.audio, video: chosen.video };
    request();
  }

  function dropPlan() {
    if (plan) stopStream(plan.stream);
    plan = null;
  }

  // -- the request ----------------------------------------------------------
  async function request() {
    showError("");
    ui.submit.disabled = true;
    showStatus("sending", t("sending"));
    let response;
    try {
      response = await fetch(new URL("api/v1/interactions", base), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(contextFromForm()),
      });
    } catch (e) {
      return failed(t("requestFailed"));
    }
    let body = {};
    try { body = await response.json(); } catch (e) { /* no JSON */ }
    if (response.status === 201) {
      current = { id: body.id, token: body.token, ws_url: body.ws_url };
      try { sessionStorage.setItem(STORE, JSON.stringify(current)); } catch (e) { /* private */ }
      ended = false;
      retries = 0;
      hangupWanted = false;
      showStatus("created", t("placing"));
      return open(false);
    }
    if (response.status === 429) return failed(t("rateLimited"));
    if (response.status === 413) return failed(t("tooLarge"), "body");
    const known = ["customer_id", "phone", "category", "page_url", "kiosk_location", "extra"];
    const label = t("field." + (known.includes(body.field) ? body.field : "body"));
    return failed(body.message ? t("invalid", { label, message: body.message })
      : t("requestFailed"), body.field);
  }

  function failed(text, fieldName) {
    dropPlan();  // the camera goes off while the customer fixes the form
    ui.submit.disabled = false;
    setState("error");
    showError(text, fieldName);
  }

  // -- the live status --------------------------------------------------------
  function onStatus(msg) {
    const state = msg.state;
    if (state === "queued") {
      const pos = msg.position && msg.count ? t("position", { n: msg.position, m: msg.count })
        : "";
      const secs = msg.expected_wait;
      const w = typeof secs !== "number" ? ""
        : secs < 60 ? t("waitUnder") : t("wait", { min: Math.round(secs / 60) });
      showStatus(state, pos ? t("queued") : t("placing"), pos, w);
    } else if (state === "ringing") {
      showStatus(state, t("ringing"));
    } else if (state === "connected") {
      showStatus(state, t("connected", { agent: msg.agent || t("anAgent") }));
    } else if (state === "ended") {
      ended = true;
      stopMedia();
      forget();
      const reason = typeof msg.reason === "string" ? msg.reason : "";
      const known = Object.prototype.hasOwnProperty.call(EN, "ended." + reason);
      showStatus(state, known ? t("ended." + reason) : t("endedOther"), "", "", reason);
      emit("ended", { reason });
    } else {
      showStatus(state, t("placing"));
    }
  }

  function forget() {
    try { sessionStorage.removeItem(STORE); } catch (e) { /* private */ }
  }

  function open(restoring) {
    const url = new URL(current.ws_url);
    url.searchParams.set("token", current.token);
    const ws = new WebSocket(url.href);
    socket = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      retries = 0;
      if (!pc && !ended) ws.send(JSON.stringify({ type: "media-hello" }));
      if (hangupWanted) ws.send(JSON.stringify({ type: "hangup" }));
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "status") onStatus(msg);
      else if (msg.type === "media-config") startMedia(msg);
      else if (msg.type === "answer") onAnswer(msg);
      else if (msg.type === "media-error") showMediaError(msg.message);
      else if (msg.type === "chat") onChat(msg);
      else if (msg.type === "chat-history") onChatHistory(msg);
      else if (msg.type === "typing") onTyping(msg);
      else if (msg.type === "chat-error") showChatError(msg.message);
    });
    ws.addEventListener("close", () => {
      if (socket !== ws) return;  // a reset replaced it
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
        ui.message.textContent = t("lost");
        ui.message.hidden = false;
        setTimeout(() => { if (!ended && current) open(false); }, 1000);
        return;
      }
      forget();
      showStatus("ended", t("gone"), "", "", "lost");
    });
  }

  function sendSocket(msg) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(msg));
    return true;
  }

  // -- chat ---------------------------------------------------------------------
  let typingShown = 0;
  let typingSent = 0;

  function chatItem(msg) {
    const from = msg.from === "agent" ? "agent" : "customer";
    const li = el("li", { "data-from": from, "data-id": String(msg.id) });
    const who = from === "agent" ? (typeof msg.name === "string" && msg.name) || t("chatAgent")
      : t("chatYou");
    const at = new Date(typeof msg.at === "number" ? msg.at : Date.now());
    const time = el("time", { class: "vl-chat-at", datetime: at.toISOString() },
      at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }));
    li.append(el("span", { class: "vl-chat-who" }, who), time, document.createElement("br"),
      document.createTextNode(msg.text));
    return li;
  }

  function onChat(msg) {
    if (typeof msg.id !== "number" || typeof msg.text !== "string") return;
    const item = chatItem(msg);
    const same = ui.chatLog.querySelector(`li[data-id="${msg.id}"]`);
    if (same) { same.replaceWith(item); return; }
    const later = [...ui.chatLog.children].find((li) => Number(li.dataset.id) > msg.id);
    ui.chatLog.insertBefore(item, later || null);
    ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
    if (msg.from === "agent") { ui.chatTyping.hidden = true; }
    if (ui.chat.hidden && ["connected", "ended"].includes(ui.root.dataset.state)) {
      ui.chat.hidden = false;
    }
    emit("chat", { id: msg.id, from: msg.from, name: msg.name, text: msg.text, at: msg.at });
  }

  function onChatHistory(msg) {
    if (!Array.isArray(msg.messages)) return;
    ui.chatLog.replaceChildren();
    for (const m of msg.messages) if (m && typeof m === "object") onChat(m);
  }

  function onTyping(msg) {
    if (msg.from !== "agent" || ui.root.dataset.state !== "connected") return;
    ui.chatTyping.hidden = false;
    clearTimeout(typingShown);
    typingShown = setTimeout(() => { ui.chatTyping.hidden = true; }, 4000);
  }

  function showChatError(text) {
    ui.chatError.textContent = typeof text === "string" ? text : "";
    ui.chatError.hidden = !ui.chatError.textContent;
  }

  function sendChat(event) {
    event.preventDefault();
    const text = ui.chatInput.value.trim();
    if (!text) return;
    if (text.length > 2000) { showChatError(t("chatTooLong")); return; }
    if (!sendSocket({ type: "chat", text })) { showChatError(t("chatNotSent")); return; }
    showChatError("");
    ui.chatInput.value = "";
    typingSent = 0;
    ui.chatInput.focus();
  }

  function typed() {
    const now = Date.now();
    if (ui.chatInput.value.trim() && now - typingSent > 2500) {
      typingSent = now;
      sendSocket({ type: "typing" });
    }
  }

  // -- co-browsing (the agent asks, the customer decides) -----------------------
  let cobrowse = null;  // {receive, stop} while on
  let cobrowseLoad = null;

  function sendChannel(obj) {
    if (channel && channel.readyState === "open") channel.send(JSON.stringify(obj));
  }

  function loadCobrowse() {
    if (window.VidlineCobrowse) return Promise.resolve(window.VidlineCobrowse);
    if (!cobrowseLoad) {
      cobrowseLoad = new Promise((resolve, reject) => {
        const tag = el("script", { src: new URL("cobrowse.js", script.src).href });
        tag.addEventListener("load", () => (window.VidlineCobrowse
          ? resolve(window.VidlineCobrowse) : reject(new Error("no VidlineCobrowse"))));
        tag.addEventListener("error", () => { cobrowseLoad = null; reject(new Error("load")); });
        document.head.append(tag);
      });
    }
    return cobrowseLoad;
  }

  function onChannelMessage(event) {
    if (typeof event.data !== "string" || event.data[0] !== "{") return;
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (!msg || typeof msg.t !== "string") return;
    if (msg.t === "cobrowse-request" && !cobrowse) { askCobrowse(); return; }
    // while on, a repeated request (the agent's panel reloaded) goes to the session too
    if (cobrowse && (msg.t.startsWith("cobrowse-") || msg.t === "chunk")) {
      try { cobrowse.receive(msg); } catch (e) { console.error("vidline: co-browsing", e); }
    }
  }

  function askCobrowse() {
    if (!config.cobrowse) { sendChannel({ t: "cobrowse-state", on: false }); return; }
    loadCobrowse().catch(() => {});  // ready by the time the customer answers
    ui.consent.hidden = false;
    // the question is announced (alertdialog); focus moves to it unless the
    // customer is in the middle of writing a chat message
    if (document.activeElement !== ui.chatInput) ui.accept.focus();
    emit("cobrowse", { state: "asked" });
  }

  async function acceptCobrowse() {
    ui.consent.hidden = true;
    const ch = channel;
    try {
      const api = await loadCobrowse();
      if (!ch || channel !== ch) return;  // the call ended meanwhile
      // the session itself tells the agent {"t":"cobrowse-state","on":true|false}
      const session = api.start({
        send: (text) => { if (ch.readyState === "open") ch.send(text); },
        onStop: () => endCobrowse(false),
      });
      if (!session || session.active === false) throw new Error("did not start");
      cobrowse = session;
      ui.cobrowseOn.hidden = false;
      ui.cobrowseStop.focus();
      emit("cobrowse", { state: "on" });
    } catch (e) {
      cobrowse = null;
      sendChannel({ t: "cobrowse-state", on: false });
      showMediaError(t("cobrowseFailed"));
    }
  }

  function declineCobrowse() {
    ui.consent.hidden = true;
    sendChannel({ t: "cobrowse-state", on: false });
    emit("cobrowse", { state: "declined" });
  }

  function endCobrowse(stopIt) {
    ui.consent.hidden = true;
    const session = cobrowse;
    cobrowse = null;
    if (!session) return;
    if (stopIt) {
      try { session.stop(); } catch (e) { console.error("vidline: co-browsing", e); }
    }
    ui.cobrowseOn.hidden = true;
    emit("cobrowse", { state: "off" });
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

  function setMedia(state) { ui.media.dataset.state = state; ui.media.hidden = state === "off"; }
  function showMediaError(text) {
    ui.mediaError.textContent = typeof text === "string" ? text : "";
    ui.mediaError.hidden = !ui.mediaError.textContent;
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
    }).catch(() => { setMedia("failed"); showMediaError(t("mediaFailed")); });
    return negotiating;
  }

  async function onAnswer(msg) {
    if (!pc) return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      setMedia("live");
    } catch (e) {
      setMedia("failed");
      showMediaError(t("mediaFailed"));
    }
    if (answered) { answered(); answered = null; }
  }

  async function startMedia(cfg) {
    if (pc || ended) return;
    videoCodec = cfg.video_codec || "VP8";
    setMedia("starting");
    if (plan) {
      local = plan.stream;  // what the device check chose (maybe nothing)
      if (!local && !plan.audio && !plan.video) showMediaError(t("noDevices"));
      plan = null;
    } else {
      // a reload mid-call: whatever still works (audio only, say), without asking again
      local = (await probeDevices()).stream;
      if (!local) showMediaError(t("noDevices"));
    }
    if (ended) { stopMedia(); return; }
    ui.localVideo.srcObject = local;
    pc = new RTCPeerConnection(cfg.rtc || {});
    const mic = local && local.getAudioTracks()[0];
    const cam = local && local.getVideoTracks()[0];
    ui.mute.disabled = !mic;
    ui.camera.disabled = !cam;
    ui.localVideo.hidden = !cam;
    pc.addTransceiver(mic || "audio", { direction: "sendrecv" });
    const camera = pc.addTransceiver(cam || "video", { direction: cam ? "sendrecv" : "recvonly" });
    preferCodec(camera, videoCodec);
    preferCodec(pc.addTransceiver("video", { direction: "recvonly" }), videoCodec);
    channel = pc.createDataChannel("vidline", { ordered: true });
    channel.addEventListener("message", onChannelMessage);
    const peer = pc;
    const dc = channel;
    window.vidlineMedia = { pc: pc, channel: channel,
      send: (text) => sendParts(peer, dc, String(text)) };
    pc.addEventListener("track", (event) => {
      const stream = new MediaStream([event.track]);
      if (event.track.kind === "audio") { ui.remoteAudio.srcObject = stream; return; }
      const videos = peer.getTransceivers().filter((x) => x.receiver.track.kind === "video");
      const index = videos.indexOf(event.transceiver);
      const node = index === 0 ? ui.remoteVideo : index === 1 ? ui.remoteScreen : null;
      if (!node) return;
      // the m-lines are there from the start (in line, the agent's screen when
      // nothing is shared): a picture shows only while its frames come
      node.srcObject = stream;
      const live = (on) => { if (on) node.dataset.live = "true"; else delete node.dataset.live; };
      event.track.addEventListener("unmute", () => live(true));
      event.track.addEventListener("mute", () => live(false));
      live(!event.track.muted);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc === peer && peer.connectionState === "failed") {
        setMedia("failed");
        showMediaError(t("mediaFailed"));
      }
    });
    negotiate();
  }

  function toggleTrack(kind) {
    const track = local && (kind === "audio" ? local.getAudioTracks()[0]
      : local.getVideoTracks()[0]);
    if (!track) return;
    track.enabled = !track.enabled;  // the m-line stays: the agent sees black / hears silence
    const node = kind === "audio" ? ui.mute : ui.camera;
    node.setAttribute("aria-pressed", String(!track.enabled));
    node.textContent = kind === "audio" ? t(track.enabled ? "mute" : "unmute")
      : t(track.enabled ? "cameraOff" : "cameraOn");
  }

  async function toggleShare() {
    if (!pc) return;
    if (screenSender) {  // stop: the m-line stays, inactive, so the layout never shifts
      const track = screenSender.track;
      if (track) track.stop();
      await screenSender.replaceTrack(null);
      const x = pc.getTransceivers().find((y) => y.sender === screenSender);
      if (x) x.direction = "inactive";
      screenSender = null;
      ui.share.dataset.sharing = "false";
      ui.share.textContent = t("share");
      return negotiate();
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      return;  // the customer cancelled the picker
    }
    const track = stream.getVideoTracks()[0];
    const videos = pc.getTransceivers().filter((x) => x.receiver.track.kind === "video");
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
    ui.share.dataset.sharing = "true";
    ui.share.textContent = t("stopShare");
    return negotiate();
  }

  function stopMedia() {
    endCobrowse(true);
    stopStream(local);
    if (screenSender && screenSender.track) screenSender.track.stop();
    if (pc) pc.close();
    pc = null;
    local = null;
    screenSender = null;
    channel = null;
    dropPlan();
    ui.share.dataset.sharing = "false";
    ui.share.textContent = t("share");
    for (const [node, key] of [[ui.mute, "mute"], [ui.camera, "cameraOff"]]) {
      node.setAttribute("aria-pressed", "false");
      node.textContent = t(key);
    }
    if (ui.media.dataset.state !== "off") setMedia("ended");
  }

  // -- actions --------------------------------------------------------------------
  function leave() {
    if (!current) return;
    ui.hangup.disabled = true;
    hangupWanted = true;  // sent now, or as soon as a reconnect opens
    sendSocket({ type: "hangup" });
  }

  function startCall() {
    if (!["form", "error"].includes(ui.root.dataset.state)) return;
    if (plan) { request(); return; }
    runCheck(data.deviceCheck !== "always");
  }

  function reset() {
    clearTimeout(kioskTimer);
    if (current && !ended) sendSocket({ type: "hangup" });
    ended = true;  // the closing socket must not reconnect
    const ws = socket;
    socket = null;
    if (ws) ws.close();
    stopMedia();
    releaseProbe();
    forget();
    current = null;
    hangupWanted = false;
    ui.hangup.disabled = false;
    ui.submit.disabled = false;
    setMedia("off");
    showMediaError("");
    ui.chatLog.replaceChildren();
    showChatError("");
    ui.chatInput.value = "";
    ui.form.reset();
    applyContext();
    showError("");
    showStatus("form", "");
    if (!configured) unavailable();
    resets += 1;
    ui.root.dataset.resets = String(resets);
    emit("reset", {});
  }

  // -- kiosk: full screen, resets itself ------------------------------------------
  let kioskTimer = 0;

  function pristine() {
    return !ui.customerId.value && !ui.phone.value && !ui.chatLog.children.length;
  }

  function kioskArm() {
    if (!KIOSK || !ui.root) return;
    clearTimeout(kioskTimer);
    const state = ui.root.dataset.state;
    if (LIVE.includes(state) || state === "sending") return;  // never in line or in a call
    if (state === "devices" && ui.devices.dataset.state === "checking") return;
    if (state === "form" && pristine()) return;
    const delay = state === "ended" ? KIOSK_AFTER_CALL : KIOSK_IDLE;
    kioskTimer = setTimeout(reset, delay * 1000);
  }

  function kioskSetup() {
    for (const type of ["pointerdown", "keydown", "input", "wheel", "touchstart"]) {
      document.addEventListener(type, kioskArm, { capture: true, passive: true });
    }
    document.addEventListener("pointerdown", () => {
      const page = document.documentElement;
      if (data.kioskFullscreen !== "false" && !document.fullscreenElement
          && page.requestFullscreen) {
        page.requestFullscreen().catch(() => { /* a kiosk browser may refuse: fine */ });
      }
    }, { capture: true });
  }

  // -- mounting ---------------------------------------------------------------------
  function wire() {
    ui.form.addEventListener("submit", (event) => { event.preventDefault(); startCall(); });
    ui.check.addEventListener("click", () => runCheck(false));
    ui.call.addEventListener("click", callWith);
    ui.continue.addEventListener("click", callWith);
    ui.retry.addEventListener("click", () => runCheck(false));
    ui.back.addEventListener("click", () => { releaseProbe(); setState("form"); });
    ui.share.addEventListener("click", toggleShare);
    ui.mute.addEventListener("click", () => toggleTrack("audio"));
    ui.camera.addEventListener("click", () => toggleTrack("video"));
    ui.hangup.addEventListener("click", leave);
    ui.restart.addEventListener("click", () => { reset(); focusables(ui.form)[0]?.focus(); });
    ui.chatForm.addEventListener("submit", sendChat);
    ui.chatInput.addEventListener("input", typed);
    ui.accept.addEventListener("click", acceptCobrowse);
    ui.decline.addEventListener("click", declineCobrowse);
    ui.cobrowseStop.addEventListener("click", () => endCobrowse(true));
    ui.root.addEventListener("focusin", () => { focusInside = true; });
    ui.root.addEventListener("focusout", (event) => {
      if (event.relatedTarget && !ui.root.contains(event.relatedTarget)) focusInside = false;
    });
    ui.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !ui.consent.hidden) declineCobrowse();
    });
  }

  let configured = false;

  function unavailable() {
    setState("error");
    showError(t("configFailed"));
    ui.submit.disabled = true;
    ui.check.disabled = true;
  }

  async function mount() {
    addStyles();
    try { await loadConfig(); configured = true; } catch (e) { configured = false; }
    build();
    wire();
    const target = data.target ? document.querySelector(data.target) : null;
    if (target) target.append(ui.root); else script.after(ui.root);
    applyContext();
    showError("");
    showStatus("form", "");
    if (KIOSK) kioskSetup();
    if (!configured) unavailable();
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { /* none */ }
    if (saved && saved.id && saved.token && saved.ws_url) {
      current = saved;  // a reload while in line: reattach within the grace period
      showStatus("created", t("placing"));
      open(true);
    }
  }

  const ready = new Promise((resolve) => {
    const go = () => mount().then(resolve, (e) => { console.error("vidline", e); resolve(); });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });

  const api = {
    version: 1,
    get state() { return ui.root ? ui.root.dataset.state : "loading"; },
    on(event, fn) {
      if (typeof fn !== "function") return api;
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
      return api;
    },
    off(event, fn) { if (listeners.has(event)) listeners.get(event).delete(fn); return api; },
    setContext(c) { setContext(c); return api; },
    open(c) {
      setContext(c);
      return ready.then(() => {
        if (!ui.root) return api.state;
        ui.root.hidden = false;
        if (ui.root.scrollIntoView) ui.root.scrollIntoView({ block: "nearest" });
        const first = focusables(ui.root)[0];
        if (first) first.focus();
        return api.state;
      });
    },
    call(c) { return api.open(c).then(() => { if (ui.root) startCall(); return api.state; }); },
    hangup() { return ready.then(() => { if (ui.root) leave(); return api.state; }); },
    reset() { return ready.then(() => { if (ui.root) reset(); return api.state; }); },
    close() {
      return ready.then(() => {
        if (ui.root && !LIVE.includes(ui.root.dataset.state)) ui.root.hidden = true;
        return api.state;
      });
    },
  };
  window.Vidline = api;
})();
