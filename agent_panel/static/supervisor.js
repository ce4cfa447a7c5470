/* vidline supervisor page: the live wallboard and the queue report.
 *
 * Stable element ids (browser tests rely on them):
 *   #sv-conn-state   wallboard socket state; data-state = connecting | online | offline
 *   #wb-queues       one <section class="wb-queue" data-queue=NAME> per queue, holding
 *                    <span class="wb-count" data-kind=video|phone> (waiting callers) and
 *                    <ul> of <li class="wb-caller" data-kind=video|phone data-id=ID
 *                    data-wait=SECONDS> "Video · <caller> · m:ss"
 *   #wb-agents       <li class="wb-agent" data-interface=IFACE data-state=available |
 *                    paused | ringing | in call | unavailable> "<name> · <state>"
 *   #wb-error        the wallboard's last error (role=alert)
 *   #report-form     #report-by (queue | category | hour), #report-from, #report-to
 *                    (datetime-local), #report-run; #report-csv downloads the same as CSV
 *   #report-head / #report-body   the report table; each <tr data-group data-kind>,
 *                    each <td data-column=NAME>
 *   #report-error    the report's last error (role=alert)
 *
 * Everything from the server is set with textContent: never parsed as markup.
 */
"use strict";

(function () {
  const csrf = document.body.dataset.csrf;
  const $ = (id) => document.getElementById(id);
  const KIND = { video: "Video", phone: "Phone" };
  let retry = 0;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function showError(id, text) {
    const node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function renderBoard(board) {
    const queues = $("wb-queues");
    queues.replaceChildren();
    for (const q of board.queues) {
      const section = el("section", "wb-queue");
      section.dataset.queue = q.name;
      const title = el("h3", "", q.name + " ");
      for (const kind of ["video", "phone"]) {
        const count = el("span", "wb-count", KIND[kind] + ": " + q[kind] + " ");
        count.dataset.kind = kind;
        title.appendChild(count);
      }
      section.appendChild(title);
      const list = el("ul", "wb-callers");
      for (const c of q.waiting) {
        const item = el("li", "wb-caller",
          KIND[c.kind] + " · " + (c.caller || "unknown") + " · " + clock(c.wait));
        item.dataset.kind = c.kind;
        item.dataset.id = c.id;
        item.dataset.wait = String(c.wait);
        list.appendChild(item);
      }
      section.appendChild(list);
      queues.appendChild(section);
    }
    const agents = $("wb-agents");
    agents.replaceChildren();
    for (const a of board.agents) {
      const text = a.name + " · " + a.state + (a.state === "paused" && a.reason ? " (" + a.reason + ")" : "");
      const item = el("li", "wb-agent", text);
      item.dataset.interface = a.interface;
      item.dataset.state = a.state;
      agents.appendChild(item);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/agent/supervisor/ws?csrf=" +
                                 encodeURIComponent(csrf));
    const state = $("sv-conn-state");
    socket.onopen = () => {
      retry = 0;
      state.dataset.state = "online";
      state.textContent = "Live";
    };
    socket.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "wallboard") {
        showError("wb-error", "");
        renderBoard(msg);
      } else if (msg.type === "wallboard_error" || msg.type === "error") {
        showError("wb-error", "The PBX did not answer: " + msg.message);
      }
    };
    socket.onclose = () => {
      state.dataset.state = "offline";
      state.textContent = "Reconnecting…";
      retry = Math.min(retry + 1, 5);
      setTimeout(connect, 500 * retry);
    };
  }

  function reportQuery(format) {
    const params = new URLSearchParams({ by: $("report-by").value, format: format });
    if ($("report-from").value) params.set("from", $("report-from").value);
    if ($("report-to").value) params.set("to", $("report-to").value);
    return "/agent/supervisor/report?" + params.toString();
  }

  function cell(tag, value, column) {
    const node = el(tag, "", value === null || value === undefined ? "–" : String(value));
    if (column) node.dataset.column = column;
    return node;
  }

  async function runReport(event) {
    if (event) event.preventDefault();
    $("report-csv").href = reportQuery("csv");
    let body;
    try {
      const response = await fetch(reportQuery("json"), { credentials: "same-origin" });
      body = await response.json();
      if (!response.ok) throw new Error(body.message || response.statusText);
    } catch (e) {
      showError("report-error", "The report failed: " + e.message);
      return;
    }
    showError("report-error", "");
    const columns = body.rows.length ? Object.keys(body.rows[0]) : [];
    const head = $("report-head");
    head.replaceChildren(...columns.map((c) => cell("th", c.replace(/_/g, " "))));
    const rows = $("report-body");
    rows.replaceChildren();
    for (const row of body.rows) {
      const tr = el("tr");
      tr.dataset.group = row.group;
      tr.dataset.kind = row.kind;
      for (const c of columns) tr.appendChild(cell("td", row[c], c));
      rows.appendChild(tr);
    }
  }

  $("report-form").addEventListener("submit", runReport);
  $("report-csv").addEventListener("click", () => { $("report-csv").href = reportQuery("csv"); });
  connect();
  runReport();
})();
