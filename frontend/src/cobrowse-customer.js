/* vidline co-browsing, customer side: built into plugin/vidline/widget/static/cobrowse.js
 * (scripts/setup.sh runs `npm ci` and `npm run build`; see frontend/build.mjs).
 *
 * API for the widget (vidline.js), which owns the consent UI:
 *
 *   const session = window.VidlineCobrowse.start({
 *     send(text),          // required: puts one text on the "vidline" data channel
 *                          // (each text is already under maxMessageSize: send it as is)
 *     onStop(),            // optional: co-browsing ended from here (the agent asked
 *                          // to stop, or recording failed): hide #vl-cobrowse-on
 *     maxMessageSize,      // optional: the peer's pc.sctp.maxMessageSize; by default
 *                          // read from window.vidlineMedia.pc, else 65536
 *   });
 *   session.receive(obj)   // every data channel message whose t starts with
 *                          // "cobrowse" (or a {"t":"chunk"} piece, or the raw text)
 *                          // while the session runs
 *   session.stop()         // the customer pressed #vl-cobrowse-stop, or the call
 *                          // ended: stops recording, removes the overlay, tells the
 *                          // agent ({"t":"cobrowse-state","on":false}); idempotent
 *   session.active         // false once stopped
 *
 * Flow: the agent's panel sends {"t":"cobrowse-request"}; the widget shows
 * #vl-cobrowse-consent. Accept -> start() (which itself sends
 * {"t":"cobrowse-state","on":true} and the page snapshot). Decline -> the widget
 * sends {"t":"cobrowse-state","on":false} itself. A cobrowse-request that
 * arrives while a session runs goes to receive(): the agent's panel was
 * reloaded and gets a fresh snapshot without asking the customer again.
 *
 * What leaves the page (rrweb, masked here, before anything is sent):
 *   - every input, select and textarea value is masked (maskAllInputs); password
 *     fields always, with a fixed-length mask; an input marked
 *     data-vidline-unmask (and not a password, not inside data-vidline-mask)
 *     is shown as typed: for harmless fields like a search box;
 *   - the text of elements marked data-vidline-mask (and of their descendants) is
 *     replaced by asterisks;
 *   - elements marked data-vidline-block are not recorded at all: the agent sees
 *     an empty box of the same size; nor are the widget itself (#vl-widget) and
 *     the agent's pointer overlay;
 *   - no canvas, no inlined images, no fonts, no cross-origin frames.
 * Events go out in batches every BATCH_MS ({"t":"cobrowse-events","events":[...]}).
 *
 * The agent's pointer ({"t":"cobrowse-pointer","x","y"}, viewport CSS pixels,
 * null to hide) and highlight ({"t":"cobrowse-highlight","selector"?, "rect"?:
 * {x,y,w,h}}) are drawn on an overlay (#vl-cobrowse-overlay) that does not
 * take clicks.
 */
"use strict";

import { record } from "rrweb";
import { Joiner, encode, maxMessageSize } from "./envelope.js";

const BATCH_MS = 150;
const BATCH_EVENTS = 500; // flush early on a burst
const MASK = "[data-vidline-mask]";
const BLOCK = "[data-vidline-block], #vl-widget, #vl-cobrowse-overlay";
const UNMASK = "[data-vidline-unmask]";
const HIGHLIGHT_MS = 4000;

function maskInput(text, element) {
  const type = element && element.type ? String(element.type).toLowerCase() : "";
  if (type === "password") return "********"; // not even the length
  if (element && element.matches && element.matches(UNMASK) && !element.closest(MASK)) {
    return text;
  }
  return "*".repeat(Math.min(String(text || "").length, 64));
}

function makeOverlay() {
  const root = document.createElement("div");
  root.id = "vl-cobrowse-overlay";
  root.setAttribute("aria-hidden", "true");
  const s = root.style; // CSSOM, not a style attribute: fine under a strict CSP
  s.position = "fixed";
  s.left = "0";
  s.top = "0";
  s.width = "0";
  s.height = "0";
  s.overflow = "visible";
  s.pointerEvents = "none";
  s.zIndex = "2147483647";
  const pointer = document.createElement("div");
  pointer.dataset.part = "pointer";
  Object.assign(pointer.style, {
    position: "fixed", width: "18px", height: "18px", marginLeft: "-9px", marginTop: "-9px",
    borderRadius: "50%", background: "rgba(230, 60, 40, 0.85)",
    boxShadow: "0 0 0 3px rgba(255, 255, 255, 0.9)", display: "none", pointerEvents: "none",
  });
  const box = document.createElement("div");
  box.dataset.part = "highlight";
  Object.assign(box.style, {
    position: "fixed", border: "3px solid rgba(230, 60, 40, 0.9)", borderRadius: "4px",
    background: "rgba(255, 210, 0, 0.15)", display: "none", pointerEvents: "none",
  });
  root.append(pointer, box);
  return { root, pointer, box };
}

function finite(v) { return typeof v === "number" && Number.isFinite(v); }

function start(options) {
  if (!options || typeof options.send !== "function") {
    throw new TypeError("VidlineCobrowse.start needs {send(text)}");
  }
  const media = window.vidlineMedia;
  const max = Number.isFinite(options.maxMessageSize) ? options.maxMessageSize
    : maxMessageSize(media && media.pc);
  const joiner = new Joiner();
  const overlay = makeOverlay();
  let buffer = [];
  let timer = 0;
  let highlightTarget = null;
  let highlightTimer = 0;
  let stopRecording = null;
  let session = null;

  function post(message) {
    for (const text of encode(message, max)) options.send(text);
  }

  let lastFlush = 0;

  function flush() {
    clearTimeout(timer);
    timer = 0;
    lastFlush = Date.now();
    if (!buffer.length || !session.active) return;
    const events = buffer;
    buffer = [];
    post({ t: "cobrowse-events", events: events });
  }

  function emit(event) {
    buffer.push(event);
    // a snapshot goes at once (the agent is waiting for it), the rest in
    // batches at most every BATCH_MS: a change after a quiet spell goes with
    // what the same task changes, a burst waits for the batch
    if (event.type === 2 || buffer.length >= BATCH_EVENTS) flush();
    else if (!timer) timer = setTimeout(flush, Math.max(0, BATCH_MS - (Date.now() - lastFlush)));
  }

  function placeHighlight() {
    if (!highlightTarget) return;
    const r = highlightTarget instanceof Element ? highlightTarget.getBoundingClientRect()
      : highlightTarget;
    const s = overlay.box.style;
    s.left = r.x + "px";
    s.top = r.y + "px";
    s.width = Math.max(r.width, 4) + "px";
    s.height = Math.max(r.height, 4) + "px";
    s.display = "block";
  }

  function highlight(message) {
    let target = null;
    if (typeof message.selector === "string" && message.selector.length <= 1000) {
      try {
        const el = document.querySelector(message.selector);
        // never point at what the customer asked us to hide
        if (el && !el.closest(BLOCK)) target = el;
      } catch (e) { /* not a selector: fall back to the rect */ }
    }
    const rect = message.rect;
    if (!target && rect && [rect.x, rect.y, rect.w, rect.h].every(finite)) {
      target = { x: rect.x, y: rect.y, width: rect.w, height: rect.h };
    }
    highlightTarget = target;
    clearTimeout(highlightTimer);
    if (!target) { overlay.box.style.display = "none"; return; }
    placeHighlight();
    if (target instanceof Element) target.scrollIntoView({ block: "nearest" });
    highlightTimer = setTimeout(() => {
      highlightTarget = null;
      overlay.box.style.display = "none";
    }, HIGHLIGHT_MS);
  }

  function pointer(message) {
    const s = overlay.pointer.style;
    if (!finite(message.x) || !finite(message.y)) { s.display = "none"; return; }
    s.left = message.x + "px";
    s.top = message.y + "px";
    s.display = "block";
  }

  function onScroll() { placeHighlight(); }

  function stop(notify) {
    if (!session.active) return;
    session.active = false;
    clearTimeout(timer);
    clearTimeout(highlightTimer);
    buffer = [];
    if (stopRecording) stopRecording();
    stopRecording = null;
    window.removeEventListener("scroll", onScroll, true);
    overlay.root.remove();
    try { options.send(JSON.stringify({ t: "cobrowse-state", on: false })); } catch (e) { /* closed */ }
    if (notify && typeof options.onStop === "function") {
      try { options.onStop(); } catch (e) { console.error("vidline cobrowse onStop", e); }
    }
  }

  session = {
    active: true,
    receive(data) {
      if (!session.active) return;
      const message = joiner.feed(data);
      if (!message) return;
      if (message.t === "cobrowse-pointer") pointer(message);
      else if (message.t === "cobrowse-highlight") highlight(message);
      else if (message.t === "cobrowse-request") {
        // the agent's panel was reloaded: tell it again, with a fresh snapshot
        flush();
        options.send(JSON.stringify({ t: "cobrowse-state", on: true }));
        record.takeFullSnapshot();
      }
      else if (message.t === "cobrowse-state" && message.on === false) stop(true);
    },
    stop() { stop(false); },
  };

  document.body.appendChild(overlay.root);
  window.addEventListener("scroll", onScroll, true);
  options.send(JSON.stringify({ t: "cobrowse-state", on: true }));
  stopRecording = record({
    emit: emit,
    maskAllInputs: true,
    maskInputOptions: { password: true },
    maskInputFn: maskInput,
    maskTextSelector: MASK,
    maskTextFn: (text) => text.replace(/\S/g, "*"),
    blockSelector: BLOCK,
    recordCanvas: false,
    inlineImages: false,
    collectFonts: false,
    recordCrossOriginIframes: false,
    // every input event, not "last" (which waits for a change event, on blur):
    // the agent follows an unmasked field as it is typed
    sampling: { mousemove: 50, scroll: 100 },
    slimDOMOptions: { script: true, comment: true, headFavicon: true, headMetaSocial: true,
      headMetaRobots: true, headMetaHttpEquiv: true, headMetaVerification: true },
    errorHandler: (error) => { console.error("vidline cobrowse", error); return true; },
  }) || null;
  if (!stopRecording) { stop(true); }
  return session;
}

window.VidlineCobrowse = Object.freeze({ start: start });
