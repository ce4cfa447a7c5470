// The widget's DOM: every element with its stable id and ARIA role.
import { button, el, field } from "./dom.js";
import { KIOSK, data, st, ui } from "./env.js";
import { t } from "./strings.js";

// -- the DOM ------------------------------------------------------------
export function build() {
  ui.root = el("section", { id: "vl-widget", class: "vl-widget", "aria-labelledby": "vl-title",
    "data-state": "form", lang: st.lang });
  if (["ar", "fa", "he", "ur"].includes(st.lang.split("-")[0])) ui.root.dir = "rtl";
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
