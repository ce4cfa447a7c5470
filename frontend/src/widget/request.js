// The request (POST /api/v1/interactions), the live status and the customer
// WebSocket, which reattaches after a reload or a short loss.
import { onChat, onChatHistory, onTyping, showChatError } from "./chat.js";
import { contextFromForm } from "./context.js";
import { dropPlan } from "./devices.js";
import { emit } from "./dom.js";
import { STORE, base, st, ui } from "./env.js";
import { onAnswer, showMediaError, startMedia, stopMedia } from "./media.js";
import { EN, t } from "./strings.js";
import { setState, showError, showStatus } from "./view.js";

// -- the request ----------------------------------------------------------
export async function request() {
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
    st.current = { id: body.id, token: body.token, ws_url: body.ws_url };
    try { sessionStorage.setItem(STORE, JSON.stringify(st.current)); } catch (e) { /* private */ }
    st.ended = false;
    st.retries = 0;
    st.hangupWanted = false;
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

export function failed(text, fieldName) {
  dropPlan();  // the camera goes off while the customer fixes the form
  ui.submit.disabled = false;
  setState("error");
  showError(text, fieldName);
}

// -- the live status --------------------------------------------------------
export function onStatus(msg) {
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
    st.ended = true;
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

export function forget() {
  try { sessionStorage.removeItem(STORE); } catch (e) { /* private */ }
}

export function open(restoring) {
  const url = new URL(st.current.ws_url);
  url.searchParams.set("token", st.current.token);
  const ws = new WebSocket(url.href);
  st.socket = ws;
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    st.retries = 0;
    if (!st.pc && !st.ended) ws.send(JSON.stringify({ type: "media-hello" }));
    if (st.hangupWanted) ws.send(JSON.stringify({ type: "hangup" }));
  });
  ws.addEventListener("message", (event) => {
    if (st.socket !== ws) return;
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
    if (st.socket !== ws) return;  // a reset replaced it
    st.socket = null;
    if (st.ended) return;
    if (restoring && !opened) {
      // a saved request the server no longer knows (ended, or a restart)
      forget();
      st.current = null;
      setState("form");
      return;
    }
    // the server keeps the place in line for a few seconds: try to reattach
    if (st.retries < 3) {
      st.retries += 1;
      ui.message.textContent = t("lost");
      ui.message.hidden = false;
      setTimeout(() => { if (!st.ended && st.current) open(false); }, 1000);
      return;
    }
    forget();
    showStatus("ended", t("gone"), "", "", "lost");
  });
}

export function sendSocket(msg) {
  if (!st.socket || st.socket.readyState !== WebSocket.OPEN) return false;
  st.socket.send(JSON.stringify(msg));
  return true;
}
