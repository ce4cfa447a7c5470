// Co-browsing: the agent asks over the data channel, the customer decides;
// cobrowse.js (rrweb, built beside the bundle) is loaded only when asked.
import { el, emit } from "./dom.js";
import { script, st, ui } from "./env.js";
import { showMediaError } from "./media.js";
import { t } from "./strings.js";

// -- co-browsing (the agent asks, the customer decides) -----------------------

export function sendChannel(obj) {
  if (st.channel && st.channel.readyState === "open") st.channel.send(JSON.stringify(obj));
}

export function loadCobrowse() {
  if (window.VidlineCobrowse) return Promise.resolve(window.VidlineCobrowse);
  if (!st.cobrowseLoad) {
    st.cobrowseLoad = new Promise((resolve, reject) => {
      const tag = el("script", { src: new URL("cobrowse.js", script.src).href });
      tag.addEventListener("load", () => (window.VidlineCobrowse
        ? resolve(window.VidlineCobrowse) : reject(new Error("no VidlineCobrowse"))));
      tag.addEventListener("error", () => { st.cobrowseLoad = null; reject(new Error("load")); });
      document.head.append(tag);
    });
  }
  return st.cobrowseLoad;
}

export function onChannelMessage(event) {
  if (typeof event.data !== "string" || event.data[0] !== "{") return;
  let msg;
  try { msg = JSON.parse(event.data); } catch (e) { return; }
  if (!msg || typeof msg.t !== "string") return;
  if (msg.t === "cobrowse-request" && !st.cobrowse) { askCobrowse(); return; }
  // while on, a repeated request (the agent's panel reloaded) goes to the session too
  if (st.cobrowse && (msg.t.startsWith("cobrowse-") || msg.t === "chunk")) {
    try { st.cobrowse.receive(msg); } catch (e) { console.error("vidline: co-browsing", e); }
  }
}

export function askCobrowse() {
  if (!st.config.cobrowse) { sendChannel({ t: "cobrowse-state", on: false }); return; }
  loadCobrowse().catch(() => {});  // ready by the time the customer answers
  ui.consent.hidden = false;
  // the question is announced (alertdialog); focus moves to it unless the
  // customer is in the middle of writing a chat message
  if (document.activeElement !== ui.chatInput) ui.accept.focus();
  emit("cobrowse", { state: "asked" });
}

export async function acceptCobrowse() {
  ui.consent.hidden = true;
  const ch = st.channel;
  try {
    const api = await loadCobrowse();
    if (!ch || st.channel !== ch) return;  // the call ended meanwhile
    // the session itself tells the agent {"t":"cobrowse-state","on":true|false}
    const session = api.start({
      send: (text) => { if (ch.readyState === "open") ch.send(text); },
      onStop: () => endCobrowse(false),
    });
    if (!session || session.active === false) throw new Error("did not start");
    st.cobrowse = session;
    ui.cobrowseOn.hidden = false;
    ui.cobrowseStop.focus();
    emit("cobrowse", { state: "on" });
  } catch (e) {
    st.cobrowse = null;
    sendChannel({ t: "cobrowse-state", on: false });
    showMediaError(t("cobrowseFailed"));
  }
}

export function declineCobrowse() {
  ui.consent.hidden = true;
  sendChannel({ t: "cobrowse-state", on: false });
  emit("cobrowse", { state: "declined" });
}

export function endCobrowse(stopIt) {
  ui.consent.hidden = true;
  const session = st.cobrowse;
  st.cobrowse = null;
  if (!session) return;
  if (stopIt) {
    try { session.stop(); } catch (e) { console.error("vidline: co-browsing", e); }
  }
  ui.cobrowseOn.hidden = true;
  emit("cobrowse", { state: "off" });
}
