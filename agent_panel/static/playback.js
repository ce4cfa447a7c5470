/* vidline playback page: every track of a recording set and its timeline on
 * one seekable clock.
 *
 * The server embeds #pb-data: {interaction, manifest, links: {file: signed
 * url}, zip}. Each track has an `offset` (seconds after the set started)
 * and plays in its own element; one page clock (`pos`) drives them all and
 * re-seeks an element that drifts more than DRIFT seconds. The timeline
 * (timeline.jsonl) gives the chat transcript, snips, marks (states, screen
 * shares, wrap-up) and the co-browse stream, shown as it was at `pos`.
 *
 * Co-browsing is replayed by the panel's own co-browse bundle (cobrowse.js,
 * rrweb's Replayer) through its public hooks: this page plays the part of
 * window.vidlinePanel and hands it a stand-in data channel that "receives"
 * the recorded cobrowse-state / cobrowse-events messages. Seeking rebuilds
 * the page from the last snapshot before `pos`. Customer text only ever
 * reaches the DOM through textContent.
 */
"use strict";

(function () {
  const DRIFT = 0.25;
  const handlers = {};
  // stands in for panel.js for the co-browse bundle, which loads after this file
  window.vidlinePanel = {
    on(event, fn) { (handlers[event] = handlers[event] || []).push(fn); },
    send() {}, csrf: "", shown() { return true; },
  };
  const emit = (event, value) => (handlers[event] || []).forEach((fn) => fn(value));

  const el = (id) => document.getElementById(id);
  const data = JSON.parse(el("pb-data").textContent);
  const manifest = data.manifest || {};
  const links = data.links || {};
  const api = { ready: false, position: () => pos, seek: (t) => seek(t), cobrowseShownAt: null };
  window.vidlinePlayback = api;

  let pos = 0;
  let playing = false;
  let lastTick = 0;
  let duration = 0;
  const media = []; // {el, track}
  const screens = [];
  const chat = []; // {t, li}
  const snips = [];
  const cobrowse = []; // {t, message}
  let cobFed = -1; // index of the last cobrowse message fed
  let channel = null;
  let cobBase = 0;

  function fmt(t) {
    const s = Math.max(0, Math.floor(t));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function bind(id, track) {
    const element = el(id);
    const url = links[track.file];
    if (!element || !url) return;
    element.src = url;
    element.preload = "auto";
    media.push({ el: element, track });
  }

  for (const track of manifest.tracks || []) {
    if (track.offset === null || track.offset === undefined) continue;
    duration = Math.max(duration, track.offset + (track.duration || 0));
    if (track.name === "customer-camera") bind("pb-customer", track);
    else if (track.name === "agent-camera") bind("pb-agent", track);
    else if (track.name === "customer-audio") bind("pb-customer-audio", track);
    else if (track.name === "pbx-audio") bind("pb-pbx-audio", track);
    else if (/-screen-\d+$/.test(track.name)) screens.push(track);
  }
  if (manifest.ended_at && manifest.started_at) {
    duration = Math.max(duration, manifest.ended_at - manifest.started_at);
  }
  screens.sort((a, b) => a.offset - b.offset);
  const screenEl = el("pb-screen");
  screenEl.closest("figure").hidden = screens.length === 0;
  let screenTrack = null;

  function pickScreen() {
    let found = null;
    for (const track of screens) if (track.offset <= pos) found = track;
    if (found !== screenTrack) {
      screenTrack = found;
      const entry = media.find((m) => m.el === screenEl);
      if (entry) media.splice(media.indexOf(entry), 1);
      if (found && links[found.file]) {
        screenEl.src = links[found.file];
        media.push({ el: screenEl, track: found });
        el("pb-screen-label").textContent = "Screen share (" +
          (found.name.startsWith("agent") ? "agent" : "customer") + ")";
      } else {
        screenEl.removeAttribute("src");
      }
    }
  }

  function syncMedia(force) {
    for (const { el: element, track } of media) {
      const local = pos - track.offset;
      const known = Number.isFinite(element.duration) ? element.duration : track.duration || 0;
      const inside = local >= 0 && local <= known + 0.5;
      element.dataset.active = String(inside);
      if (!inside) {
        if (!element.paused) element.pause();
        continue;
      }
      if (force || Math.abs(element.currentTime - local) > DRIFT) {
        try { element.currentTime = local; } catch (e) { /* not loaded yet */ }
      }
      if (playing && element.paused) element.play().catch(() => {});
      if (!playing && !element.paused) element.pause();
    }
  }

  function showTimeline() {
    let current = null;
    for (const item of chat) {
      const future = item.t > pos;
      item.li.dataset.future = String(future);
      item.li.dataset.current = "false";
      if (!future) current = item;
    }
    if (current) current.li.dataset.current = "true";
    for (const item of snips) item.li.dataset.future = String(item.t > pos);
    showCobrowse();
  }

  // -- co-browsing, through the bundle's hooks ----------------------------------
  function receive(message) {
    if (channel) channel.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
  }

  function showCobrowse() {
    if (!channel) return;
    let upto = -1;
    for (let i = 0; i < cobrowse.length && cobrowse[i].t <= pos; i++) upto = i;
    if (upto === cobFed) return;
    let from = cobFed + 1;
    if (upto < cobFed) { // back in time: rebuild from the last "on" before pos
      receive({ t: "cobrowse-state", on: false });
      from = 0;
      for (let i = upto; i >= 0; i--) {
        if (cobrowse[i].message.t === "cobrowse-state") { from = i; break; }
      }
    }
    for (let i = from; i <= upto; i++) receive(cobrowse[i].message);
    cobFed = upto;
    const on = window.vidlineCobrowse && window.vidlineCobrowse.state === "on";
    el("pb-cobrowse-none").hidden = Boolean(on);
    api.cobrowseShownAt = on ? pos : null;
  }

  async function inflate(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return JSON.parse(await new Response(stream).text());
  }

  function cobrowseMessages(t, entry) {
    const out = [];
    if (entry.action === "on" || entry.action === "off") {
      out.push({ t, message: { t: "cobrowse-state", on: entry.action === "on" } });
    } else if (entry.action === "events" && Array.isArray(entry.events)) {
      // the page clock is the replay clock: every event is stamped with the
      // first one's time, so the live replayer applies it when it is fed
      if (!cobBase && entry.events[0]) cobBase = Number(entry.events[0].timestamp) || 1;
      const events = entry.events.map((e) => Object.assign({}, e, { timestamp: cobBase }));
      out.push({ t, message: { t: "cobrowse-events", events } });
    }
    return out;
  }

  // -- the timeline ------------------------------------------------------------
  function addChat(t, entry) {
    const li = document.createElement("li");
    li.dataset.from = entry.from === "agent" ? "agent" : "customer";
    if (Number.isInteger(entry.id)) li.dataset.id = String(entry.id);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = fmt(t) + " " + (entry.from === "agent" ? "Agent" : "Customer") + ": ";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = typeof entry.text === "string" ? entry.text : "";
    li.append(when, text);
    li.addEventListener("click", () => seek(t));
    el("pb-chat").appendChild(li);
    chat.push({ t, li });
  }

  function addSnip(t, entry) {
    const name = [entry.file, entry.name, entry.path].find((v) => typeof v === "string");
    if (!name) return;
    const base = name.split("/").pop();
    const url = links["snips/" + base];
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = fmt(t) + " " + base;
    li.appendChild(label);
    if (url) {
      const img = document.createElement("img");
      img.src = url;
      img.alt = "Snip at " + fmt(t);
      li.appendChild(img);
    }
    el("pb-snips").appendChild(li);
    snips.push({ t, li });
  }

  const MARKS = { state: (d) => "State: " + d.state, screen_share_start: (d) => d.from + " shares a screen",
    screen_share_stop: (d) => d.from + " stops sharing", wrapup: () => "Wrap-up",
    recording_alert: (d) => "Alert: " + d.message };

  function addMark(t, kind, entry) {
    const label = MARKS[kind];
    if (!label) return;
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.kind = kind;
    button.textContent = fmt(t) + " " + label(entry || {});
    button.addEventListener("click", () => seek(t));
    li.appendChild(button);
    el("pb-marks").appendChild(li);
  }

  async function loadTimeline() {
    const url = links[manifest.timeline || "timeline.jsonl"];
    if (!url) return;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    for (const line of (await response.text()).split("\n")) {
      if (!line.trim()) continue;
      let item;
      try { item = JSON.parse(line); } catch (e) { continue; }
      const t = Number(item.t) || 0;
      duration = Math.max(duration, t);
      let entry = item.data || {};
      if (item.z) {
        try { entry = await inflate(item.z); } catch (e) { continue; }
      }
      if (item.kind === "chat_message") addChat(t, entry);
      else if (item.kind === "snip") addSnip(t, entry);
      else if (item.kind === "cobrowse") cobrowse.push(...cobrowseMessages(t, entry));
      else addMark(t, item.kind, entry);
    }
  }

  // -- the clock -----------------------------------------------------------------
  function render(force) {
    pickScreen();
    syncMedia(force);
    showTimeline();
    const seekBar = el("pb-seek");
    seekBar.max = String(duration.toFixed(1));
    if (document.activeElement !== seekBar) seekBar.value = String(pos.toFixed(1));
    el("pb-time").textContent = fmt(pos) + " / " + fmt(duration);
    el("pb").dataset.position = pos.toFixed(2);
  }

  function seek(t) {
    pos = Math.min(Math.max(0, Number(t) || 0), duration);
    render(true);
    return pos;
  }

  function tick(now) {
    if (playing) {
      pos += (now - lastTick) / 1000;
      if (pos >= duration) { pos = duration; setPlaying(false); }
      render(false);
    }
    lastTick = now;
    requestAnimationFrame(tick);
  }

  function setPlaying(value) {
    playing = value;
    const button = el("pb-play");
    button.dataset.playing = String(value);
    button.textContent = value ? "Pause" : "Play";
    syncMedia(true);
  }

  el("pb-play").addEventListener("click", () => setPlaying(!playing));
  el("pb-seek").addEventListener("input", (event) => seek(event.target.value));
  el("pb-download").href = data.zip || "#";
  for (const name of Object.keys(links)) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = links[name] + "&dl=1";
    a.textContent = name;
    li.appendChild(a);
    el("pb-files").appendChild(li);
  }

  window.addEventListener("DOMContentLoaded", async () => {
    if (document.getElementById("tool-cobrowse")) {
      channel = new EventTarget();
      channel.send = () => {}; // the agent's pointer goes nowhere in a replay
      emit("media", { interaction: data.interaction, pc: { sctp: { maxMessageSize: 262144 } },
        channel, send() {} });
    }
    try { await loadTimeline(); } catch (e) { /* media still plays */ }
    render(true);
    api.ready = true;
    el("pb").dataset.ready = "true";
    requestAnimationFrame(tick);
  });
})();
