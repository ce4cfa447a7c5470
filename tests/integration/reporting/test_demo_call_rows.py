"""A demo-like video chat (customer API + sandbox PBX, agent answers through
the sandbox's control API) against real MariaDB: Asterisk's CDR row with the
vidline columns, the queue_log rows and vidline's own interaction and event
rows all join on the interaction id."""

from __future__ import annotations

import pytest

from tests.conftest import make_config, mariadb_rows
from tests.integration.reporting.customer import Customer

pytestmark = pytest.mark.mariadb

CONTEXT = {"customer_id": "cust-1042", "phone": "+15551234", "category": "billing",
           "page_url": "https://shop.example.com/checkout?step=2", "kiosk_location": "Lobby 7"}


async def test_one_call_lands_in_cdr_queue_log_and_interactions(
    runtime_factory: object, mariadb_url: str
) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))  # type: ignore[operator]
    customer = await Customer.start(runtime, **CONTEXT)
    try:
        ctl = runtime.sandbox.control
        await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))
        assert await ctl.answer("PJSIP/1001")
        await customer.wait_state("connected")
        await customer.hang_up()
        await customer.wait_state("ended")
    finally:
        await customer.close()
    await runtime.sandbox.control.flush_db()
    assert await runtime.reporting.flush()
    iid = customer.id

    rows = mariadb_rows(mariadb_url, """
        SELECT i.outcome, i.queue, i.agent_member, i.agent_username, i.customer_id, i.phone,
               i.kiosk_location, i.route_reason, i.wait_seconds, i.talk_seconds,
               c.vidline_session, c.vidline_customer_id, c.vidline_phone, c.vidline_category,
               c.vidline_page_url, c.vidline_kiosk, c.vidline_queue, c.disposition,
               c.vidline_recording, c.vidline_media
        FROM vidline_interactions i JOIN cdr c ON c.uniqueid = i.id
        WHERE i.id = %s""", (iid,))
    assert len(rows) == 1
    row = rows[0]
    assert (row["outcome"], row["queue"], row["agent_member"], row["agent_username"]) == (
        "customer_left", "support", "Agent Alice", "alice")
    assert (row["customer_id"], row["phone"], row["kiosk_location"]) == (
        "cust-1042", "+15551234", "Lobby 7")
    assert row["wait_seconds"] is not None and row["talk_seconds"] is not None
    assert (row["vidline_session"], row["vidline_customer_id"], row["vidline_phone"],
            row["vidline_category"], row["vidline_queue"], row["disposition"]) == (
        iid, "cust-1042", "+15551234", "billing", "support", "ANSWERED")
    assert row["vidline_page_url"] == CONTEXT["page_url"]
    # filled later by recording (not part of this call): present, empty
    assert (row["vidline_recording"], row["vidline_media"]) == (None, None)

    lines = mariadb_rows(mariadb_url, """
        SELECT q.event, q.agent, q.data1, q.data2, q.data3 FROM queue_log q
        JOIN vidline_interactions i ON q.callid = i.id WHERE i.id = %s ORDER BY q.id""", (iid,))
    assert [r["event"] for r in lines] == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT",
                                           "COMPLETECALLER"]
    assert (lines[0]["data1"], lines[0]["data2"], lines[0]["data3"]) == (
        iid, "billing", "cust-1042")
    assert lines[1]["data2"] == "+15551234" and lines[2]["agent"] == "Agent Alice"

    events = mariadb_rows(mariadb_url, """
        SELECT e.seq, e.kind FROM vidline_interaction_events e
        JOIN vidline_interactions i ON e.interaction_id = i.id WHERE i.id = %s
        ORDER BY e.seq""", (iid,))
    kinds = [e["kind"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for kind in ("created", "originated", "queued", "ringing", "connected", "ended"):
        assert kind in kinds
    assert kinds.index("created") < kinds.index("queued") < kinds.index("connected") \
        < kinds.index("ended")
