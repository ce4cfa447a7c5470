// The public API, window.Vidline (documented in main.js): every method may be
// called before the widget has mounted; each waits for it.
import { leave, reset, startCall } from "./actions.js";
import { setContext } from "./context.js";
import { focusables, listeners } from "./dom.js";
import { LIVE, ui } from "./env.js";
import { mount } from "./mount.js";

let ready = null;

function start() {
  ready = new Promise((resolve) => {
    const go = () => mount().then(resolve, (e) => { console.error("vidline", e); resolve(); });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });
}

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

// mounts the widget and publishes the API
export function install() {
  start();
  window.Vidline = api;
}
