// Where the widget was loaded from, the embedding tag's data- attributes, the
// context sent with a request, and the widget's mutable state (one object, so
// every module sees the same values).
import { EN } from "./catalogue.js";

// read while the bundle's top level runs synchronously: document.currentScript
// is null once anything has awaited
export const script = document.currentScript;
export const base = new URL("..", script.src);  // the widget lives at <base>/widget/vidline.js
export const STORE = "vidline.interaction";
export const data = script.dataset;
export const KIOSK = "kioskMode" in data;
export const LIVE = ["created", "originating", "queued", "ringing", "connected"];
export const VIDEO = { width: 640, height: 480 };
const seconds = (v, fallback) => (Number(v) > 0 ? Number(v) : fallback);
export const KIOSK_IDLE = seconds(data.kioskReset, 120);
export const KIOSK_AFTER_CALL = seconds(data.kioskAfterCall, 15);

const listRe = /[^,\s]+/g;
export const ctx = {
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

export const ui = {};  // the widget's elements, filled by build()

export const st = {
  S: EN,  // the strings in use (the server's translation, or English)
  lang: "en",
  config: { categories: [], cobrowse: false },
  socket: null,
  current: null,  // {id, token, ws_url}
  ended: false,
  retries: 0,
  hangupWanted: false,
  resets: 0,
  focusInside: false,  // the customer's focus is in the widget (or was, on a now hidden node)
  configured: false,
  // the device check
  plan: null,  // how the customer calls: {stream, audio, video}
  probe: null,  // the device check's result while it is on screen
  meterStop: null,
  checkRun: 0,
  // chat
  typingShown: 0,
  typingSent: 0,
  // co-browsing
  cobrowse: null,  // {receive, stop} while on
  cobrowseLoad: null,
  // media
  pc: null,
  videoCodec: "VP8",
  local: null,
  screenSender: null,
  channel: null,
  negotiating: Promise.resolve(),
  answered: null,
  // kiosk
  kioskTimer: 0,
};
