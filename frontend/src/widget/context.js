// The public configuration (categories, co-browsing, strings) and the context
// the request carries.
import { el } from "./dom.js";
import { base, ctx, data, st, ui } from "./env.js";
import { t } from "./strings.js";

// -- configuration and context ----------------------------------------------
export async function loadConfig() {
  const wanted = [ctx.lang, ...(navigator.languages || [navigator.language || ""])]
    .filter((x) => typeof x === "string" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(x))
    .slice(0, 6);
  const url = new URL("api/v1/config/public", base);
  if (wanted.length) url.searchParams.set("lang", wanted.join(","));
  const response = await fetch(url);
  if (!response.ok) throw new Error(String(response.status));
  const body = await response.json();
  st.config = { categories: Array.isArray(body.categories) ? body.categories : [],
    cobrowse: body.cobrowse === true };
  if (body.strings && typeof body.strings === "object" && typeof body.lang === "string") {
    st.S = body.strings;
    st.lang = body.lang;
  }
}

export function applyContext() {
  const offered = ctx.categories.filter((c) => st.config.categories.includes(c));
  const list = offered.length ? offered : st.config.categories;
  const keep = ctx.category || ui.category.value;
  ui.category.replaceChildren(...list.map((c) => {
    const label = t("category." + c);
    return el("option", { value: c }, label === "category." + c ? c : label);
  }));
  if (list.includes(keep)) ui.category.value = keep;
  ui.root.querySelector("#vl-category-field").hidden = list.length === 1;
  ui.customerId.value = ctx.customerId;
  ui.phone.value = ctx.phone;
  ui.root.querySelector("#vl-customer-id-field").hidden = !!data.customerId
    || !!ctx.fromApiCustomerId;
  ui.root.querySelector("#vl-phone-field").hidden = !!data.phone || !!ctx.fromApiPhone;
}

export function setContext(c) {
  if (!c || typeof c !== "object") return;
  const text = (v) => typeof v === "string" || typeof v === "number";
  if (text(c.customerId)) { ctx.customerId = String(c.customerId); ctx.fromApiCustomerId = true; }
  if (text(c.phone)) { ctx.phone = String(c.phone); ctx.fromApiPhone = true; }
  if (Array.isArray(c.categories)) ctx.categories = c.categories.filter(text).map(String);
  if (text(c.category)) ctx.category = String(c.category);
  if (text(c.kioskLocation)) ctx.kioskLocation = String(c.kioskLocation);
  if (c.extra && typeof c.extra === "object") ctx.extra = c.extra;
  if (ui.root && ["form", "error"].includes(ui.root.dataset.state)) applyContext();
}

export function contextFromForm() {
  const context = {
    customer_id: ui.customerId.value.trim(),
    phone: ui.phone.value.trim(),
    category: ui.category.value,
  };
  const href = location.href;
  if (/^https?:/.test(href) && href.length <= 2048) context.page_url = href;
  if (ctx.kioskLocation) context.kiosk_location = ctx.kioskLocation;
  if (ctx.extra) context.extra = ctx.extra;
  return context;
}
