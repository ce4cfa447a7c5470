// What the customer's buttons and the API do: leave the line, start a call, reset.
import { showChatError } from "./chat.js";
import { applyContext } from "./context.js";
import { releaseProbe, runCheck } from "./devices.js";
import { emit } from "./dom.js";
import { data, st, ui } from "./env.js";
import { setMedia, showMediaError, stopMedia } from "./media.js";
import { unavailable } from "./mount.js";
import { forget, request, sendSocket } from "./request.js";
import { showError, showStatus } from "./view.js";

// -- actions --------------------------------------------------------------------
export function leave() {
  if (!st.current) return;
  ui.hangup.disabled = true;
  st.hangupWanted = true;  // sent now, or as soon as a reconnect opens
  sendSocket({ type: "hangup" });
}

export function startCall() {
  if (!["form", "error"].includes(ui.root.dataset.state)) return;
  if (st.plan) { request(); return; }
  runCheck(data.deviceCheck !== "always");
}

export function reset() {
  clearTimeout(st.kioskTimer);
  if (st.current && !st.ended) sendSocket({ type: "hangup" });
  st.ended = true;  // the closing socket must not reconnect
  const ws = st.socket;
  st.socket = null;
  if (ws) ws.close();
  stopMedia();
  releaseProbe();
  forget();
  st.current = null;
  st.hangupWanted = false;
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
  if (!st.configured) unavailable();
  st.resets += 1;
  ui.root.dataset.resets = String(st.resets);
  emit("reset", {});
}
