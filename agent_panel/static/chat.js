/* vidline agent panel: text chat (inside #tool-chat).
 *
 * Ids: #chat-log (<ol>, one <li data-from="customer|agent" data-id=n> per message),
 * #chat-input, #chat-send, #chat-typing (shown while the customer types),
 * #chat-error (role=alert), #chat-for (which interaction the log belongs to).
 * An interaction with messages the agent has not seen gets data-unread=<count>
 * on its #pop-list item.
 *
 * Messages go through the server over the panel socket (never the data
 * channel): it validates, numbers, stores and relays them, and echoes ours
 * back with their id, so the log is always the server's history. Text is
 * only ever set with textContent.
 */
"use strict";

(function () {
  const panel = window.vidlinePanel;
  const section = document.getElementById("tool-chat");
  if (!panel || !section) return;

  const TYPING_EVERY = 1500;  // ms between our typing notices (the server throttles too)
  const TYPING_SHOWN = 4000;  // ms the customer's typing notice stays up
  const logs = new Map();  // interaction id -> Map(message id -> message)
  const unread = new Map();  // interaction id -> count
  const open = new Set();  // interactions whose chat is open (connected)
  let current = "";
  let typingSent = 0;
  let typingTimer = null;

  const el = panel.el;

  const title = el("h2", { id: "chat-title", textContent: "Chat" });
  const forWho = el("p", { id: "chat-for", className: "meta" });
  const log = el("ol", { id: "chat-log", className: "chat-log" });
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Chat messages");
  const typing = el("p", { id: "chat-typing", className: "meta", hidden: true,
    textContent: "The customer is typing…" });
  const input = el("textarea", { id: "chat-input", rows: 2, maxLength: 2000,
    placeholder: "Type a message; Enter sends, Shift+Enter for a new line" });
  input.setAttribute("aria-label", "Message to the customer");
  const sendButton = el("button", { id: "chat-send", type: "submit", textContent: "Send" });
  const form = el("form", { id: "chat-form", className: "chat-form" }, input, sendButton);
  const error = el("p", { id: "chat-error", className: "error", hidden: true });
  error.setAttribute("role", "alert");
  section.setAttribute("aria-labelledby", "chat-title");
  section.append(title, forWho, log, typing, form, error);

  function time(ms) {
    const d = new Date(ms);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function item(m) {
    const who = m.from === "agent" ? "You" : "Customer";
    const li = el("li", { className: "chat-" + (m.from === "agent" ? "agent" : "customer") },
      el("span", { className: "chat-who", textContent: who }),
      el("time", { className: "chat-at", textContent: time(m.at) }),
      el("p", { className: "chat-text", textContent: String(m.text) }));
    li.dataset.from = m.from === "agent" ? "agent" : "customer";
    li.dataset.id = String(m.id);
    return li;
  }

  function render() {
    const messages = [...(logs.get(current) || new Map()).values()].sort((a, b) => a.id - b.id);
    log.replaceChildren(...messages.map(item));
    log.scrollTop = log.scrollHeight;
    const live = open.has(current);
    input.disabled = !live;
    sendButton.disabled = !live;
    forWho.textContent = current ? (live ? "Chat with the customer" :
      "The call is over: the chat is read-only") : "";
  }

  function show(id) {
    if (!id) return;
    section.hidden = false;
    if (id !== current) {
      current = id;
      typing.hidden = true;
      error.hidden = true;
      if (!logs.has(id)) panel.send({ type: "chat-history", interaction: id });
    }
    unread.delete(id);
    panel.mark(id, "unread", null);
    render();
  }

  function store(m) {
    if (typeof m.interaction !== "string" || typeof m.id !== "number") return false;
    if (!logs.has(m.interaction)) logs.set(m.interaction, new Map());
    const known = logs.get(m.interaction).has(m.id);
    logs.get(m.interaction).set(m.id, m);
    return !known;
  }

  panel.on("shown", (message) => {
    const it = message.interaction || {};
    if (message.phase === "connected") open.add(it.id);
    else open.delete(it.id);
    if (message.phase === "connected" || message.phase === "ended") show(it.id);
    else if (it.id !== current) section.hidden = true;
  });
  panel.on("ws:pop", (message) => {
    const id = (message.interaction || {}).id;
    if (message.phase !== "connected") open.delete(id);
    else open.add(id);
    if (id === current) render();
  });
  panel.on("ws:hello", () => {
    // (re)connected: messages may have gone by while the socket was down
    logs.clear();
    // after a reload the URL's interaction may be over: its log is shown
    // (read-only) once the server sends it, i.e. if it was this agent's call
    if (!current && panel.focused()) current = panel.focused();
    if (current) panel.send({ type: "chat-history", interaction: current });
  });
  panel.on("ws:chat-history", (message) => {
    if (typeof message.interaction !== "string" || !Array.isArray(message.messages)) return;
    logs.set(message.interaction, new Map());
    for (const m of message.messages) store(m);
    if (message.interaction === current) {
      section.hidden = false;
      render();
    }
  });
  panel.on("ws:chat", (message) => {
    if (!store(message)) return;
    if (message.interaction === current) {
      if (message.from === "customer") typing.hidden = true;
      render();
    } else if (message.from === "customer") {
      const n = (unread.get(message.interaction) || 0) + 1;
      unread.set(message.interaction, n);
      panel.mark(message.interaction, "unread", n);
    }
  });
  panel.on("ws:typing", (message) => {
    if (message.interaction !== current || message.from !== "customer") return;
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOWN);
  });
  panel.on("ws:chat-error", (message) => {
    if (section.hidden || (message.interaction && message.interaction !== current)) return;
    error.textContent = String(message.message || "The message was not sent.");
    error.hidden = false;
  });

  function submit() {
    const text = input.value.trim();
    if (!text || !current || !open.has(current)) return;
    error.hidden = true;
    if (panel.send({ type: "chat", interaction: current, text: text })) input.value = "";
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (current && open.has(current) && input.value && now - typingSent > TYPING_EVERY) {
      typingSent = now;
      panel.send({ type: "typing", interaction: current });
    }
  });
})();
