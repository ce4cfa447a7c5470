// Chat over the customer WebSocket (through the server; see the wire contract).
import { el, emit } from "./dom.js";
import { st, ui } from "./env.js";
import { sendSocket } from "./request.js";
import { t } from "./strings.js";

// -- chat ---------------------------------------------------------------------

export function chatItem(msg) {
  const from = msg.from === "agent" ? "agent" : "customer";
  const li = el("li", { "data-from": from, "data-id": String(msg.id) });
  const who = from === "agent" ? (typeof msg.name === "string" && msg.name) || t("chatAgent")
    : t("chatYou");
  const at = new Date(typeof msg.at === "number" ? msg.at : Date.now());
  const time = el("time", { class: "vl-chat-at", datetime: at.toISOString() },
    at.toLocaleTimeString(st.lang, { hour: "2-digit", minute: "2-digit" }));
  li.append(el("span", { class: "vl-chat-who" }, who), time, document.createElement("br"),
    document.createTextNode(msg.text));
  return li;
}

export function onChat(msg) {
  if (typeof msg.id !== "number" || typeof msg.text !== "string") return;
  const item = chatItem(msg);
  const same = ui.chatLog.querySelector(`li[data-id="${msg.id}"]`);
  if (same) { same.replaceWith(item); return; }
  const later = [...ui.chatLog.children].find((li) => Number(li.dataset.id) > msg.id);
  ui.chatLog.insertBefore(item, later || null);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  if (msg.from === "agent") { ui.chatTyping.hidden = true; }
  if (ui.chat.hidden && ["connected", "ended"].includes(ui.root.dataset.state)) {
    ui.chat.hidden = false;
  }
  emit("chat", { id: msg.id, from: msg.from, name: msg.name, text: msg.text, at: msg.at });
}

export function onChatHistory(msg) {
  if (!Array.isArray(msg.messages)) return;
  ui.chatLog.replaceChildren();
  for (const m of msg.messages) if (m && typeof m === "object") onChat(m);
}

export function onTyping(msg) {
  if (msg.from !== "agent" || ui.root.dataset.state !== "connected") return;
  ui.chatTyping.hidden = false;
  clearTimeout(st.typingShown);
  st.typingShown = setTimeout(() => { ui.chatTyping.hidden = true; }, 4000);
}

export function showChatError(text) {
  ui.chatError.textContent = typeof text === "string" ? text : "";
  ui.chatError.hidden = !ui.chatError.textContent;
}

export function sendChat(event) {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  if (text.length > 2000) { showChatError(t("chatTooLong")); return; }
  if (!sendSocket({ type: "chat", text })) { showChatError(t("chatNotSent")); return; }
  showChatError("");
  ui.chatInput.value = "";
  st.typingSent = 0;
  ui.chatInput.focus();
}

export function typed() {
  const now = Date.now();
  if (ui.chatInput.value.trim() && now - st.typingSent > 2500) {
    st.typingSent = now;
    sendSocket({ type: "typing" });
  }
}
