/* vidline agent panel: the CRM customer card (inside #tool-crm).
 *
 * Ids: #crm-card (data-state = loading | ok | not_found | error; data-interaction),
 * #crm-card-title, #crm-card-fields (<dl>; each <dd data-label=...>),
 * #crm-card-link (<a> to the record, hidden without one), #crm-card-message.
 *
 * The pop is on screen first; then the panel asks the server for the card
 * ({type: "crm-lookup"}), which answers when the CRM does ({type: "crm-card"}),
 * so a slow or broken CRM never holds the pop back. With no lookup
 * configured the server answers status "off" and the section stays hidden.
 * CRM data is set with textContent; the record link only as a checked http(s) URL.
 */
"use strict";

(function () {
  const panel = window.vidlinePanel;
  const section = document.getElementById("tool-crm");
  if (!panel || !section) return;

  const cards = new Map();  // interaction id -> crm-card message
  const asked = new Set();
  let current = "";

  const el = panel.el;

  const card = el("div", { id: "crm-card" });
  card.dataset.state = "loading";
  const title = el("h3", { id: "crm-card-title" });
  const fields = el("dl", { id: "crm-card-fields", className: "crm-fields" });
  const link = el("a", { id: "crm-card-link", hidden: true, target: "_blank",
    rel: "noopener noreferrer", textContent: "Open the record" });
  const note = el("p", { id: "crm-card-message", className: "meta" });
  note.setAttribute("role", "status");
  card.append(title, fields, link, note);
  section.setAttribute("aria-labelledby", "crm-title");
  section.append(el("h2", { id: "crm-title", textContent: "CRM record" }), card);

  function render() {
    const message = cards.get(current);
    if (message && message.status === "off") {
      section.hidden = true;
      return;
    }
    section.hidden = !current;
    card.dataset.interaction = current;
    fields.replaceChildren();
    title.textContent = "";
    link.hidden = true;
    link.removeAttribute("href");
    if (!message) {
      card.dataset.state = "loading";
      note.textContent = "Looking the customer up in the CRM…";
      return;
    }
    card.dataset.state = message.status;
    note.textContent = message.message || "";
    const data = message.card;
    if (message.status !== "ok" || !data) return;
    title.textContent = data.title || "";
    for (const row of data.fields || []) {
      const dd = el("dd", { textContent: String(row.value) });
      dd.dataset.label = String(row.label);
      fields.append(el("dt", { textContent: String(row.label) }), dd);
    }
    const url = panel.safeHttpUrl(data.url);
    if (url) {
      link.href = url;
      link.hidden = false;
    }
  }

  function ask(id) {
    if (!id || asked.has(id) || cards.has(id)) return;
    asked.add(id);
    panel.send({ type: "crm-lookup", interaction: id });
  }

  panel.on("ws:pop", (message) => {
    const id = (message.interaction || {}).id;
    if (message.phase === "ringing" || message.phase === "connected") ask(id);
  });
  panel.on("shown", (message) => {
    current = (message.interaction || {}).id || "";
    render();
  });
  panel.on("ws:crm-card", (message) => {
    if (typeof message.interaction !== "string") return;
    asked.delete(message.interaction);
    if (message.status === "error" && message.message === "no call of yours with that id") return;
    cards.set(message.interaction, message);
    if (message.interaction === current) render();
  });
  panel.on("ws:hello", () => asked.clear());  // a reconnect: the replayed pops ask again
})();
