// Element helpers (text only, never markup), the API's events, focus targets.
import { t } from "./strings.js";

export const listeners = new Map();
export function emit(event, detail) {
  for (const fn of listeners.get(event) || []) {
    try { fn(detail); } catch (e) { console.error("vidline: a listener failed", e); }
  }
}

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(id, key, cls) {
  return el("button", { id: id, type: "button", class: cls || "" }, t(key));
}

export function field(input, key) {
  const wrap = el("div", { class: "vl-field", id: input.id + "-field" });
  wrap.append(el("label", { for: input.id }, t(key)), input);
  return wrap;
}

export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

export function focusables(node) {
  return [...node.querySelectorAll("button, input, select")]
    .filter((n) => !n.disabled && n.getClientRects().length > 0);
}
