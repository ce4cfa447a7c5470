// Which part of the widget shows in which state, and where focus goes (ARIA).
import { emit, focusables } from "./dom.js";
import { KIOSK, LIVE, st, ui } from "./env.js";
import { kioskArm } from "./kiosk.js";
import { t } from "./strings.js";

export function setState(state, reason) {
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
  if (st.focusInside && (!active || active === document.body
      || (ui.root.contains(active) && active.getClientRects().length === 0))) {
    const target = state === "ended" ? ui.restart : LIVE.includes(state) ? ui.hangup
      : focusables(state === "devices" ? ui.devices : ui.form)[0];
    if (target) target.focus();
  }
  if (before !== state) emit("state", reason ? { state, reason } : { state });
  kioskArm();
}

export function showStatus(state, text, pos, waitText, reason) {
  setState(state, reason);
  ui.message.textContent = text || "";
  ui.position.textContent = pos || "";
  ui.wait.textContent = waitText || "";
  ui.message.hidden = !text;
  ui.position.hidden = !pos;
  ui.wait.hidden = !waitText;
}

export function showError(text, fieldName) {
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
