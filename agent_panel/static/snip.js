/* vidline agent panel: the snipping tool (owns <section id="tool-snip">).
 *
 * Take a still of a source, select a region of it, annotate it (arrow, box, text)
 * and save it as a PNG to the interaction: POST
 * /agent/api/interactions/<id>/snips?source=video|screen|cobrowse with the
 * session's CSRF token (vidline.web.snips checks the PNG and stores it).
 *
 * Sources: "video" the customer's camera (#customer-video), "screen" the
 * customer's shared screen (#customer-screen), "cobrowse" the co-browsing replay
 * (window.vidlineCobrowse): its DOM is drawn through an SVG foreignObject, so
 * the page's text, layout and inlined styles come out as pixels, but not its
 * images or fonts from other sites (an image cannot load them).
 *
 * Stable ids: #snip-source (<select>), #snip-take, #snip-all (the whole still as
 * the region: the keyboard way), #snip-canvas (the editor; data-stage = select |
 * annotate, data-region = "x,y,w,h" in the still's pixels), #snip-tool-arrow,
 * #snip-tool-box, #snip-tool-text (aria-pressed), #snip-text, #snip-undo,
 * #snip-save, #snip-cancel, #snip-status (data-state = idle | editing | saving |
 * saved | error), #snip-list (<li data-file> per saved snip).
 */
"use strict";

(function () {
  const panel = window.vidlinePanel;
  const section = document.getElementById("tool-snip");
  if (!panel || !section) return;

  const SOURCES = { video: "Customer's camera", screen: "Customer's screen",
    cobrowse: "Co-browsing view" };
  const COLOR = "#e5281e";

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  const title = el("h2", { id: "snip-title" }, "Snipping tool");
  section.setAttribute("aria-labelledby", "snip-title");
  const source = el("select", { id: "snip-source", "aria-label": "What to snip" });
  for (const [value, label] of Object.entries(SOURCES)) {
    source.append(el("option", { value: value }, label));
  }
  const take = el("button", { id: "snip-take", type: "button" }, "Take a snip");
  const status = el("p", { id: "snip-status", role: "status", "aria-live": "polite",
    "data-state": "idle" });
  const editor = el("div", { id: "snip-editor", hidden: "" });
  const hint = el("p", { id: "snip-hint" });
  const canvas = el("canvas", { id: "snip-canvas", "data-stage": "select",
    "aria-label": "The still: drag to select a region, then annotate" });
  // scaled down to fit (the aspect kept), never up: a pixel stays a pixel
  canvas.style.maxWidth = "100%";
  canvas.style.maxHeight = "70vh";
  canvas.style.display = "block";
  canvas.style.cursor = "crosshair";
  canvas.style.touchAction = "none";
  const all = el("button", { id: "snip-all", type: "button" }, "Use the whole picture");
  const tools = el("div", { role: "toolbar", "aria-label": "Annotation" });
  const toolButtons = {};
  for (const [name, label] of [["arrow", "Arrow"], ["box", "Box"], ["text", "Text"]]) {
    const b = el("button", { id: "snip-tool-" + name, type: "button",
      "aria-pressed": name === "arrow" ? "true" : "false" }, label);
    b.addEventListener("click", () => setTool(name));
    toolButtons[name] = b;
    tools.append(b);
  }
  const text = el("input", { id: "snip-text", type: "text", maxlength: "200",
    "aria-label": "Text to place (click on the picture)", placeholder: "Text to place" });
  const undo = el("button", { id: "snip-undo", type: "button" }, "Undo");
  const save = el("button", { id: "snip-save", type: "button" }, "Save to the interaction");
  const cancel = el("button", { id: "snip-cancel", type: "button" }, "Cancel");
  tools.append(text, undo);
  editor.append(hint, canvas, all, tools, save, cancel);
  const list = el("ul", { id: "snip-list", "aria-label": "Saved snips" });
  section.append(title, source, take, status, editor, list);

  let interaction = "";
  let still = null; // canvas with the source's pixels at full resolution
  let stillSource = "";
  let region = null; // {x, y, w, h} in still pixels
  let drag = null;
  let tool = "arrow";
  let marks = [];

  function setStatus(state, message) {
    status.dataset.state = state;
    status.textContent = message || "";
  }

  function setTool(name) {
    tool = name;
    for (const [n, b] of Object.entries(toolButtons)) {
      b.setAttribute("aria-pressed", n === name ? "true" : "false");
    }
  }

  function video(id) {
    const v = document.getElementById(id);
    return v && v.videoWidth > 0 ? v : null;
  }

  function available() {
    const cb = window.vidlineCobrowse;
    return { video: !!video("customer-video"), screen: !!video("customer-screen"),
      cobrowse: !!(cb && cb.state === "on" && cb.replayer()) };
  }

  // -- capturing a still --------------------------------------------------------

  function fromVideo(v) {
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext("2d").drawImage(v, 0, 0);
    return Promise.resolve(c);
  }

  // the replay's DOM as pixels: serialized into an SVG foreignObject, drawn by
  // the browser as an image (no script runs; nothing outside the data: URL loads)
  function fromReplay() {
    const replayer = window.vidlineCobrowse.replayer();
    const frame = replayer.iframe;
    const doc = frame.contentDocument;
    const width = Math.max(1, Math.round(parseFloat(frame.width) || frame.clientWidth));
    const height = Math.max(1, Math.round(parseFloat(frame.height) || frame.clientHeight));
    const win = frame.contentWindow;
    const clone = doc.documentElement.cloneNode(true);
    for (const node of clone.querySelectorAll("script, iframe, object, embed")) node.remove();
    // copy form state (a clone keeps attributes, not what was typed, masked or not)
    const live = doc.querySelectorAll("input, textarea");
    const copies = clone.querySelectorAll("input, textarea");
    live.forEach((input, i) => {
      const copy = copies[i];
      if (!copy) return;
      if (input.type === "checkbox" || input.type === "radio") {
        if (input.checked) copy.setAttribute("checked", "");
      } else if (copy.localName === "textarea") copy.textContent = input.value;
      else copy.setAttribute("value", input.value);
    });
    clone.setAttribute("style", "transform: translate(" + -(win.scrollX || 0) + "px, " +
      -(win.scrollY || 0) + "px)");
    const xhtml = new XMLSerializer().serializeToString(clone);
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' +
      height + '"><foreignObject x="0" y="0" width="100%" height="100%">' + xhtml +
      "</foreignObject></svg>";
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => {
        const c = document.createElement("canvas");
        c.width = width;
        c.height = height;
        const ctx = c.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, width, height);
        ctx.drawImage(image, 0, 0);
        resolve(c);
      };
      image.onerror = () => reject(new Error("the co-browsing view could not be drawn"));
      image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
    });
  }

  async function capture(kind) {
    if (kind === "video") return fromVideo(video("customer-video"));
    if (kind === "screen") return fromVideo(video("customer-screen"));
    return fromReplay();
  }

  // -- the editor ---------------------------------------------------------------

  function draw() {
    const ctx = canvas.getContext("2d");
    if (!region) {
      canvas.width = still.width;
      canvas.height = still.height;
      ctx.drawImage(still, 0, 0);
      if (drag) {
        const r = norm(drag);
        ctx.fillStyle = "rgba(0, 0, 0, 0.35)";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(still, r.x, r.y, r.w, r.h, r.x, r.y, r.w, r.h);
        ctx.strokeStyle = "#1a73e8";
        ctx.lineWidth = Math.max(1, still.width / 400);
        ctx.strokeRect(r.x, r.y, r.w, r.h);
      }
      return;
    }
    canvas.width = region.w;
    canvas.height = region.h;
    ctx.drawImage(still, region.x, region.y, region.w, region.h, 0, 0, region.w, region.h);
    const shown = drag && tool !== "text" ? [...marks, { kind: tool, ...drag }] : marks;
    for (const mark of shown) paint(ctx, mark);
  }

  function paint(ctx, mark) {
    const width = Math.max(2, Math.round(Math.min(region.w, region.h) / 120));
    ctx.strokeStyle = COLOR;
    ctx.fillStyle = COLOR;
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    if (mark.kind === "box") {
      const r = norm(mark);
      ctx.strokeRect(r.x, r.y, r.w, r.h);
    } else if (mark.kind === "arrow") {
      const angle = Math.atan2(mark.y2 - mark.y1, mark.x2 - mark.x1);
      const head = width * 5;
      ctx.beginPath();
      ctx.moveTo(mark.x1, mark.y1);
      ctx.lineTo(mark.x2, mark.y2);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(mark.x2, mark.y2);
      ctx.lineTo(mark.x2 - head * Math.cos(angle - 0.45), mark.y2 - head * Math.sin(angle - 0.45));
      ctx.lineTo(mark.x2 - head * Math.cos(angle + 0.45), mark.y2 - head * Math.sin(angle + 0.45));
      ctx.closePath();
      ctx.fill();
    } else if (mark.kind === "text") {
      const size = Math.max(14, Math.round(Math.min(region.w, region.h) / 18));
      ctx.font = "600 " + size + "px system-ui, sans-serif";
      ctx.textBaseline = "top";
      ctx.lineWidth = Math.max(3, size / 5);
      ctx.strokeStyle = "#fff";
      ctx.strokeText(mark.text, mark.x1, mark.y1);
      ctx.fillText(mark.text, mark.x1, mark.y1);
    }
  }

  function norm(d) {
    const x = Math.round(Math.min(d.x1, d.x2));
    const y = Math.round(Math.min(d.y1, d.y2));
    return { x: x, y: y, w: Math.round(Math.max(d.x1, d.x2)) - x,
      h: Math.round(Math.max(d.y1, d.y2)) - y };
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    const x = (event.clientX - box.left) * canvas.width / box.width;
    const y = (event.clientY - box.top) * canvas.height / box.height;
    return { x: Math.max(0, Math.min(canvas.width, x)), y: Math.max(0, Math.min(canvas.height, y)) };
  }

  function chooseRegion(r) {
    if (r.w < 2 || r.h < 2) return;
    region = r;
    drag = null;
    marks = [];
    canvas.dataset.stage = "annotate";
    canvas.dataset.region = [r.x, r.y, r.w, r.h].join(",");
    hint.textContent = "Annotate: drag for an arrow or a box, click to place text. Then save.";
    setStatus("editing", "Region selected: " + r.w + " × " + r.h + " pixels.");
    all.hidden = true;
    tools.hidden = false;
    save.disabled = false;
    draw();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!still) return;
    const p = point(event);
    if (region && tool === "text") {
      const words = text.value.trim();
      if (!words) { text.focus(); return; }
      marks.push({ kind: "text", text: words, x1: p.x, y1: p.y });
      draw();
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    drag = { x1: p.x, y1: p.y, x2: p.x, y2: p.y };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const p = point(event);
    drag.x2 = p.x;
    drag.y2 = p.y;
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!region) { chooseRegion(norm(d)); return; }
    if (Math.hypot(d.x2 - d.x1, d.y2 - d.y1) >= 3) marks.push({ kind: tool, ...d });
    draw();
  });
  all.addEventListener("click", () => {
    if (still) chooseRegion({ x: 0, y: 0, w: still.width, h: still.height });
  });
  undo.addEventListener("click", () => { marks.pop(); if (region) draw(); });
  cancel.addEventListener("click", close);

  function close() {
    still = null;
    region = null;
    drag = null;
    marks = [];
    editor.hidden = true;
    section.style.gridColumn = "";
    delete canvas.dataset.region;
    setStatus("idle", "");
  }

  take.addEventListener("click", async () => {
    const kind = source.value;
    if (!interaction || !available()[kind]) {
      setStatus("error", SOURCES[kind] + " is not showing anything to snip.");
      return;
    }
    try {
      still = await capture(kind);
    } catch (e) {
      setStatus("error", String(e.message || e));
      return;
    }
    stillSource = kind;
    region = null;
    marks = [];
    canvas.dataset.stage = "select";
    delete canvas.dataset.region;
    hint.textContent = "Drag over the picture to select the region to keep.";
    all.hidden = false;
    tools.hidden = true;
    save.disabled = true;
    editor.hidden = false;
    section.style.gridColumn = "1 / -1"; // room to select and draw precisely
    setStatus("editing", "Select a region of the " + SOURCES[kind].toLowerCase() + ".");
    draw();
  });

  save.addEventListener("click", async () => {
    if (!region || !interaction) return;
    drag = null;
    draw();
    const target = interaction;
    save.disabled = true;
    setStatus("saving", "Saving…");
    let blob;
    try {
      blob = await new Promise((resolve, reject) => canvas.toBlob(
        (b) => (b ? resolve(b) : reject(new Error("no image"))), "image/png"));
    } catch (e) {
      // a tainted canvas (a co-browsing view the browser will not export)
      setStatus("error", "This picture cannot be saved: " + String(e.message || e));
      save.disabled = false;
      return;
    }
    try {
      const response = await fetch("/agent/api/interactions/" + encodeURIComponent(target) +
        "/snips?source=" + encodeURIComponent(stillSource), {
        method: "POST", credentials: "same-origin", body: blob,
        headers: { "Content-Type": "image/png", "X-CSRF-Token": panel.csrf },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message || "HTTP " + response.status);
      const item = el("li", { "data-file": String(body.file) },
        String(body.file) + " · " + body.width + "×" + body.height + " · " +
        Math.max(1, Math.round(body.size / 1024)) + " kB");
      list.prepend(item);
      close();
      setStatus("saved", "Snip saved to the interaction.");
      status.dataset.file = String(body.file);
    } catch (e) {
      save.disabled = false;
      setStatus("error", "The snip was not saved: " + String(e.message || e));
    }
  });

  panel.on("media", (m) => {
    interaction = m.interaction;
    section.hidden = false;
    list.replaceChildren();
  });
  // a still already taken can be saved after the call ends: the server keeps
  // the interaction the agent's for a while, so "media-ended" changes nothing
})();
