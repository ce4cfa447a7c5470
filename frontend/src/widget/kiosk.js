// Kiosk mode: full screen, resets itself after idle time and after a call.
import { reset } from "./actions.js";
import { KIOSK, KIOSK_AFTER_CALL, KIOSK_IDLE, LIVE, data, st, ui } from "./env.js";

// -- kiosk: full screen, resets itself ------------------------------------------

export function pristine() {
  return !ui.customerId.value && !ui.phone.value && !ui.chatLog.children.length;
}

export function kioskArm() {
  if (!KIOSK || !ui.root) return;
  clearTimeout(st.kioskTimer);
  const state = ui.root.dataset.state;
  if (LIVE.includes(state) || state === "sending") return;  // never in line or in a call
  if (state === "devices" && ui.devices.dataset.state === "checking") return;
  if (state === "form" && pristine()) return;
  const delay = state === "ended" ? KIOSK_AFTER_CALL : KIOSK_IDLE;
  st.kioskTimer = setTimeout(reset, delay * 1000);
}

export function kioskSetup() {
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
