/* vidline agent panel: wrap-up (inside #tool-wrapup).
 *
 * Ids: #wrapup-form, #wrapup-disposition (<select> of the configured list),
 * #wrapup-notes, #wrapup-save, #wrapup-state (role=status; data-state = none |
 * draft | saving | saved | error), #wrapup-help.
 *
 * During and after the call the agent writes notes and picks a disposition;
 * drafts are kept on the server as the agent types (a reload keeps them);
 * "Save wrap-up" stores it with the interaction for good (reporting gets it)
 * and locks the form. GET/PUT /agent/api/interactions/<id>/wrapup.
 */
"use strict";

(function () {
  const panel = window.vidlinePanel;
  const section = document.getElementById("tool-wrapup");
  if (!panel || !section) return;

  const DRAFT_DELAY = 800;  // ms of quiet typing before a draft is stored
  let current = "";
  let saved = false;
  let draftTimer = null;
  let loading = null;

  const el = panel.el;

  const select = el("select", { id: "wrapup-disposition", required: true });
  const notes = el("textarea", { id: "wrapup-notes", rows: 4 });
  const save = el("button", { id: "wrapup-save", type: "submit", textContent: "Save wrap-up" });
  const status = el("p", { id: "wrapup-state", className: "meta" });
  status.setAttribute("role", "status");
  status.dataset.state = "none";
  const form = el("form", { id: "wrapup-form", className: "wrapup-form" },
    el("label", { htmlFor: "wrapup-disposition", textContent: "Disposition" }), select,
    el("label", { htmlFor: "wrapup-notes", textContent: "Notes" }), notes, save, status);
  const help = el("p", { id: "wrapup-help", className: "meta", textContent:
    "Notes and disposition are saved with this interaction and reach the reports. " +
    "Time between calls for wrap-up is set in the PBX queue (Asterisk: wrapuptime " +
    "in queues.conf; or pause yourself with the reason After-call work)." });
  section.setAttribute("aria-labelledby", "wrapup-title");
  section.append(el("h2", { id: "wrapup-title", textContent: "Wrap-up" }), form, help);

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function lock(on) {
    saved = on;
    select.disabled = on;
    notes.readOnly = on;
    save.disabled = on;
  }

  function fill(body) {
    const chosen = body.wrapup && body.wrapup.disposition;
    select.replaceChildren(el("option", { value: "", textContent: "Choose…" }),
      ...body.dispositions.map((d) => el("option", { value: d, textContent: d })));
    select.value = chosen || "";
    notes.maxLength = body.max_notes || 4000;
    notes.value = (body.wrapup && body.wrapup.notes) || "";
    lock(Boolean(body.wrapup && body.wrapup.saved));
    if (saved) {
      setStatus("saved", "Saved at " + new Date(body.wrapup.updated_at).toLocaleTimeString());
    } else if (body.wrapup) setStatus("draft", "Draft kept; not saved yet.");
    else setStatus("none", "Not saved yet.");
  }

  async function request(method, id, payload) {
    const response = await fetch("/agent/api/interactions/" + encodeURIComponent(id) +
      "/wrapup", {
      method: method, credentials: "same-origin",
      headers: method === "GET" ? {} : { "Content-Type": "application/json",
        "X-CSRF-Token": panel.csrf },
      body: method === "GET" ? undefined : JSON.stringify(payload),
    });
    let body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    return { ok: response.ok, status: response.status, body: body };
  }

  async function load(id) {
    if (!id || (id === current && loading)) return;
    if (id !== current && draftTimer) store(false);  // the draft of the one we leave
    current = id;
    const mine = loading = request("GET", id);
    let result;
    try { result = await mine; } catch (e) { result = null; } finally {
      if (loading === mine) loading = null;
    }
    if (id !== current) return;
    if (!result || !result.ok || !result.body || !result.body.available) {
      section.hidden = true;  // not this agent's call (or the panel is offline)
      return;
    }
    section.hidden = false;
    fill(result.body);
  }

  async function store(final) {
    if (!current || saved) return;
    clearTimeout(draftTimer);
    const id = current;
    if (final) setStatus("saving", "Saving…");
    let result;
    try {
      result = await request("PUT", id, { disposition: select.value || null,
        notes: notes.value, final: final });
    } catch (e) {
      setStatus("error", "Not saved: the server cannot be reached. Try again.");
      return;
    }
    if (id !== current) return;
    if (result.ok) {
      if (final) fill(result.body);
      else setStatus("draft", "Draft kept; not saved yet.");
    } else {
      const why = result.body && result.body.message ? result.body.message : "HTTP " + result.status;
      setStatus("error", "Not saved: " + why);
      if (result.status === 409) load(id);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!select.value) {
      setStatus("error", "Choose a disposition first.");
      select.focus();
      return;
    }
    store(true);
  });
  const later = () => {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => store(false), DRAFT_DELAY);
  };
  notes.addEventListener("input", later);
  select.addEventListener("change", later);

  panel.on("shown", (message) => {
    const it = message.interaction || {};
    if (message.phase === "connected" || message.phase === "ended") {
      if (it.id !== current) load(it.id);
    } else if (it.id !== current) section.hidden = true;
  });
  panel.on("ws:hello", () => {
    // after a reload the URL names the call (even one that has ended)
    if (!current && panel.focused()) load(panel.focused());
  });
})();
