// Text for the customer: the server's translation, English where it has no key.
import { EN } from "./catalogue.js";
import { st } from "./env.js";

export { EN };

export function t(key, vars) {
  const own = Object.prototype.hasOwnProperty;
  let text = own.call(st.S, key) && typeof st.S[key] === "string" ? st.S[key] : EN[key];
  if (typeof text !== "string") text = key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars && own.call(vars, k) ? String(vars[k]) : m));
}
