/* The "vidline" data channel envelope, shared by the customer's and the agent's
 * co-browsing bundles (the server side is vidline.media.datachannel).
 *
 * Every message is JSON text {"t": kind, ...}. One whose text would exceed the
 * peer's maximum message size (pc.sctp.maxMessageSize) travels as
 * {"t":"chunk","id":s,"i":k,"n":total,"d":part} pieces, d being consecutive
 * slices of the whole text; an ordered channel keeps them in order and the far
 * side joins them, refusing more than MAX_MESSAGE bytes.
 */
"use strict";

export const MAX_MESSAGE = 16 * 1024 * 1024;
const CHUNK_OVERHEAD = 96; // {"t":"chunk","id":"...","i":..,"n":..,"d":""} at most
const MAX_PENDING = 4;
const encoder = new TextEncoder();

let counter = 0;
const prefix = Math.random().toString(36).slice(2, 8);

// bytes one UTF-16 unit takes inside a JSON string; a surrogate pair counts 2+2
function cost(code) {
  if (code === 0x22 || code === 0x5c) return 2;
  if (code < 0x20) return 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return 3; // surrogates: handled by the caller (4 per pair, 6 if lone)
}

/** The wire texts for one message object: itself, or its chunk pieces. */
export function encode(message, maxBytes) {
  const text = JSON.stringify(message);
  if (text.length * 3 <= maxBytes || encoder.encode(text).length <= maxBytes) return [text];
  const budget = maxBytes - CHUNK_OVERHEAD;
  const parts = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let n = cost(code);
    let width = 1;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) { n = 4; width = 2; } // never split a pair
      else n = 6;
    } else if (code >= 0xdc00 && code <= 0xdfff) n = 6;
    if (size + n > budget && i > start) {
      parts.push(text.slice(start, i));
      start = i;
      size = 0;
    }
    size += n;
    i += width - 1;
  }
  parts.push(text.slice(start));
  const id = prefix + (++counter).toString(36);
  return parts.map((d, i) => JSON.stringify({ t: "chunk", id: id, i: i, n: parts.length, d: d }));
}

/** The peer's limit, or the SCTP default every browser and aiortc accept. */
export function maxMessageSize(pc) {
  const max = pc && pc.sctp && pc.sctp.maxMessageSize;
  return typeof max === "number" && max > 1024 && Number.isFinite(max) ? max : 65536;
}

/** Joins incoming pieces: feed(text or parsed object) -> the whole message
 * object, or null (a piece, or something that is not the envelope). */
export class Joiner {
  constructor(maxMessage = MAX_MESSAGE) {
    this.maxMessage = maxMessage;
    this.pending = new Map(); // id -> {n, parts, size}
    this.refused = 0;
  }

  feed(data) {
    let obj = data;
    if (typeof data === "string") {
      try { obj = JSON.parse(data); } catch (e) { return null; }
    }
    if (!obj || typeof obj !== "object" || typeof obj.t !== "string") return null;
    if (obj.t !== "chunk") return obj;
    const whole = this.piece(obj);
    if (whole === null) return null;
    try { obj = JSON.parse(whole); } catch (e) { this.refused++; return null; }
    return obj && typeof obj === "object" && typeof obj.t === "string" ? obj : null;
  }

  piece(obj) {
    const { id, i, n, d } = obj;
    if (typeof id !== "string" || !id || id.length > 64 || !Number.isInteger(i) ||
        !Number.isInteger(n) || n < 1 || typeof d !== "string") {
      this.refused++;
      return null;
    }
    let entry = this.pending.get(id);
    if (!entry) {
      if (this.pending.size >= MAX_PENDING) { this.refused++; return null; }
      entry = { n: n, parts: [], size: 0 };
      this.pending.set(id, entry);
    }
    entry.size += d.length; // UTF-16 units: the memory it holds, near enough to bytes
    if (i !== entry.parts.length || n !== entry.n || entry.size > this.maxMessage) {
      this.pending.delete(id);
      this.refused++;
      return null;
    }
    entry.parts.push(d);
    if (entry.parts.length < entry.n) return null;
    this.pending.delete(id);
    return entry.parts.join("");
  }
}
