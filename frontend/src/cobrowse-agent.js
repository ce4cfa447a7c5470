/* vidline co-browsing, agent side: built into agent_panel/static/cobrowse.js (and
 * rrweb's replayer stylesheet into cobrowse.css) by frontend/build.mjs.
 *
 * Owns <section id="tool-cobrowse">: #cobrowse-request (ask the customer),
 * #cobrowse-stop, #cobrowse-state (data-state = off | asked | on | declined |
 * stopped) and #cobrowse-view, where rrweb's Replayer (live mode) rebuilds the
 * customer's masked page in an iframe sandboxed to "allow-same-origin": no
 * script of the customer's page runs, and the panel's CSP (script-src 'self')
 * holds inside it too. Moving the mouse over the view sends the agent's pointer,
 * a click highlights the element under it on the customer's page.
 *
 * Hooks: window.vidlinePanel.on("media", {interaction, pc, channel, send}) and
 * "media-ended". window.vidlineCobrowse exposes {state, replayer(), view(),
 * received} for the snipping tool and tests.
 */
"use strict";

import { Replayer } from "rrweb";
import { Joiner, encode, maxMessageSize } from "./envelope.js";

const POINTER_MS = 50;
const LABELS = {
  off: "Not co-browsing",
  asked: "Waiting for the customer to accept…",
  on: "Co-browsing: you see the customer's page (typed values are hidden)",
  declined: "The customer declined co-browsing",
  stopped: "Co-browsing stopped",
};

(function () {
  const panel = window.vidlinePanel;
  const section = document.getElementById("tool-cobrowse");
  if (!panel || !section) return;

  const stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = "/agent/static/cobrowse.css";
  document.head.appendChild(stylesheet);

  const title = document.createElement("h2");
  title.id = "cobrowse-title";
  title.textContent = "Co-browsing";
  section.setAttribute("aria-labelledby", "cobrowse-title");
  const state = document.createElement("p");
  state.id = "cobrowse-state";
  state.setAttribute("role", "status");
  state.setAttribute("aria-live", "polite");
  const request = document.createElement("button");
  request.id = "cobrowse-request";
  request.type = "button";
  request.textContent = "Ask to see the customer's page";
  const stopButton = document.createElement("button");
  stopButton.id = "cobrowse-stop";
  stopButton.type = "button";
  stopButton.textContent = "Stop co-browsing";
  const view = document.createElement("div");
  view.id = "cobrowse-view";
  view.className = "cobrowse-view";
  view.setAttribute("aria-label", "The customer's page (click to highlight for the customer)");
  Object.assign(view.style, { position: "relative", overflow: "hidden", width: "100%",
    minHeight: "0", cursor: "crosshair", background: "#fff", outline: "1px solid #8886" });
  const stage = document.createElement("div"); // the replayer's root, scaled to fit
  Object.assign(stage.style, { position: "absolute", left: "0", top: "0",
    transformOrigin: "0 0" });
  view.appendChild(stage);
  section.append(title, state, request, stopButton, view);

  const api = { state: "off", received: 0, replayer: () => replayer, view: () => view };
  window.vidlineCobrowse = api;

  let media = null;
  let joiner = new Joiner();
  let replayer = null;
  let size = { width: 0, height: 0 };
  let scale = 1;
  let lastPointer = 0;
  let pendingPointer = null;
  let pointerTimer = 0;

  function setState(value) {
    api.state = value;
    state.dataset.state = value;
    state.textContent = LABELS[value];
    request.disabled = !media || value === "asked" || value === "on";
    stopButton.hidden = value !== "on" && value !== "asked";
    view.hidden = value !== "on";
    // the replay wants room: the card spans the panel's grid while it runs
    section.style.gridColumn = value === "on" ? "1 / -1" : "";
    fit();
  }

  function post(message) {
    if (!media) return;
    for (const text of encode(message, maxMessageSize(media.pc))) media.channel.send(text);
  }

  function fit() {
    if (!size.width || !size.height) return;
    scale = Math.min(1, (view.clientWidth || size.width) / size.width);
    stage.style.transform = "scale(" + scale + ")";
    view.style.height = Math.round(size.height * scale) + "px";
  }

  function dropReplayer() {
    if (replayer) {
      try { replayer.destroy(); } catch (e) { /* already gone */ }
    }
    replayer = null;
    stage.replaceChildren();
    size = { width: 0, height: 0 };
  }

  // Live replay plays each event at (its timestamp - the baseline) on the
  // replayer's clock. The page's clock is not ours, and a slow first snapshot
  // would push every later event back by its own delay: so each batch is moved
  // onto our clock as it arrives (its newest event = now), keeping the order
  // and the spacing within the batch, and it plays at the next frame.
  let lastStamp = 0;

  function onEvents(events) {
    if (!Array.isArray(events) || !events.length) return;
    const newest = events[events.length - 1] && events[events.length - 1].timestamp;
    const shift = Number.isFinite(newest) ? Date.now() - newest : 0;
    for (const event of events) {
      if (!event || typeof event !== "object" || !Number.isFinite(event.timestamp)) continue;
      event.timestamp = Math.max(event.timestamp + shift, lastStamp);
      lastStamp = event.timestamp;
      if (!replayer || event.type === 4 && replayer.__vidlineHadSnapshot) {
        // the first page, or a fresh snapshot (a navigation, a panel reload)
        if (event.type !== 4 && event.type !== 2) continue; // wait for a snapshot
        dropReplayer();
        replayer = new Replayer([], {
          root: stage, liveMode: true, mouseTail: false, showWarning: false,
          UNSAFE_replayCanvas: false, triggerFocus: false, pauseAnimation: false,
        });
        replayer.iframe.style.border = "0";
        replayer.on("resize", (dim) => { size = dim; fit(); });
        replayer.startLive(event.timestamp);
      }
      if (event.type === 4 && event.data) {
        size = { width: event.data.width, height: event.data.height };
        fit();
      }
      if (event.type === 2) replayer.__vidlineHadSnapshot = true;
      replayer.addEvent(event);
      api.received++;
    }
  }

  function receive(data) {
    const message = joiner.feed(data);
    if (!message || typeof message.t !== "string") return;
    if (message.t === "cobrowse-state") {
      if (message.on === true) setState("on");
      else {
        setState(api.state === "asked" ? "declined" : "stopped");
        dropReplayer();
      }
    } else if (message.t === "cobrowse-events" && api.state === "on") {
      onEvents(message.events);
    }
  }

  // -- the agent's pointer and highlights, in the customer's viewport pixels
  function pagePoint(event) {
    const box = view.getBoundingClientRect();
    const x = (event.clientX - box.left) / scale;
    const y = (event.clientY - box.top) / scale;
    if (x < 0 || y < 0 || x > size.width || y > size.height) return null;
    return { x: Math.round(x), y: Math.round(y) };
  }

  function sendPointer() {
    pointerTimer = 0;
    lastPointer = Date.now();
    const p = pendingPointer;
    post({ t: "cobrowse-pointer", x: p ? p.x : null, y: p ? p.y : null });
  }

  function queuePointer(point) {
    pendingPointer = point;
    if (pointerTimer) return;
    const wait = Math.max(0, POINTER_MS - (Date.now() - lastPointer));
    pointerTimer = setTimeout(sendPointer, wait);
  }

  // a CSS path of tag:nth-of-type steps: the rebuilt page has the customer's
  // structure, so the customer's page finds the same element
  function cssPath(el, doc) {
    const steps = [];
    while (el && el.nodeType === 1 && el !== doc.documentElement) {
      const tag = el.localName;
      if (!/^[a-z][a-z0-9-]*$/.test(tag)) return null;
      let index = 1;
      for (let sib = el.previousElementSibling; sib; sib = sib.previousElementSibling) {
        if (sib.localName === tag) index++;
      }
      steps.unshift(tag + ":nth-of-type(" + index + ")");
      el = el.parentElement;
    }
    return steps.length ? "html > " + steps.join(" > ") : null;
  }

  view.addEventListener("mousemove", (event) => {
    if (api.state === "on") queuePointer(pagePoint(event));
  });
  view.addEventListener("mouseleave", () => { if (api.state === "on") queuePointer(null); });
  view.addEventListener("click", (event) => {
    if (api.state !== "on" || !replayer) return;
    const point = pagePoint(event);
    if (!point) return;
    const doc = replayer.iframe && replayer.iframe.contentDocument;
    const el = doc && doc.elementFromPoint(point.x, point.y);
    const message = { t: "cobrowse-highlight" };
    if (el && el !== doc.body && el !== doc.documentElement) {
      const r = el.getBoundingClientRect();
      message.rect = { x: Math.round(r.left), y: Math.round(r.top),
        w: Math.round(r.width), h: Math.round(r.height) };
      const selector = cssPath(el, doc);
      if (selector) message.selector = selector;
    } else {
      message.rect = { x: point.x - 20, y: point.y - 20, w: 40, h: 40 };
    }
    post(message);
  });

  request.addEventListener("click", () => {
    if (!media) return;
    dropReplayer();
    setState("asked");
    post({ t: "cobrowse-request" });
  });
  stopButton.addEventListener("click", () => {
    post({ t: "cobrowse-state", on: false });
    dropReplayer();
    setState("stopped");
  });
  window.addEventListener("resize", fit);

  panel.on("media", (m) => {
    media = m;
    joiner = new Joiner();
    m.channel.addEventListener("message", (event) => receive(event.data));
    section.hidden = false;
    setState("off");
  });
  panel.on("media-ended", () => {
    media = null;
    dropReplayer();
    setState(api.state === "on" || api.state === "asked" ? "stopped" : api.state);
  });
  setState("off");
})();
