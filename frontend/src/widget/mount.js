// Wiring the elements' events, and mounting the widget into the page.
import { leave, reset, startCall } from "./actions.js";
import { sendChat, typed } from "./chat.js";
import { acceptCobrowse, declineCobrowse, endCobrowse } from "./cobrowse.js";
import { applyContext, loadConfig } from "./context.js";
import { callWith, releaseProbe, runCheck } from "./devices.js";
import { focusables } from "./dom.js";
import { KIOSK, STORE, data, script, st, ui } from "./env.js";
import { kioskSetup } from "./kiosk.js";
import { build } from "./layout.js";
import { toggleShare, toggleTrack } from "./media.js";
import { open } from "./request.js";
import { t } from "./strings.js";
import { addStyles } from "./styles.js";
import { setState, showError, showStatus } from "./view.js";

// -- mounting ---------------------------------------------------------------------
export function wire() {
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
  ui.root.addEventListener("focusin", () => { st.focusInside = true; });
  ui.root.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !ui.root.contains(event.relatedTarget)) st.focusInside = false;
  });
  ui.root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.consent.hidden) declineCobrowse();
  });
}


export function unavailable() {
  setState("error");
  showError(t("configFailed"));
  ui.submit.disabled = true;
  ui.check.disabled = true;
}

export async function mount() {
  addStyles();
  try { await loadConfig(); st.configured = true; } catch (e) { st.configured = false; }
  build();
  wire();
  const target = data.target ? document.querySelector(data.target) : null;
  if (target) target.append(ui.root); else script.after(ui.root);
  applyContext();
  showError("");
  showStatus("form", "");
  if (KIOSK) kioskSetup();
  if (!st.configured) unavailable();
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { /* none */ }
  if (saved && saved.id && saved.token && saved.ws_url) {
    st.current = saved;  // a reload while in line: reattach within the grace period
    showStatus("created", t("placing"));
    open(true);
  }
}
