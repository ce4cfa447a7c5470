"""mod_loopback and the originate api: a customer leg is a loopback pair
whose b-half runs its extension (customer_device, customer_park, vidline's
park) and answers, which answers the a-half; only then the api reply (the
BACKGROUND_JOB of a bgapi) goes out, and the a-half starts its application
or extension (A: BACKGROUND_JOB precedes member-queue-start)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import TYPE_CHECKING

from vidline.pbx.sandbox.channels import Audio
from vidline.pbx.sandbox.esl.fschannels import FsChannel
from vidline.pbx.sandbox.esl.originate import Originate, OriginateError

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch

AUDIO_IN_FRAMES = 500  # 10 s of what vidline sent on a unicast, per member leg


async def originate(fs: FsSwitch, o: Originate, answered: Callable[[str], None]) -> None:
    """Place a loopback pair; ``answered(reply)`` is called with the api
    reply once the b-leg answered (or with ``-ERR ...``), before the
    a-leg starts its application (BACKGROUND_JOB precedes member-queue-start)."""
    try:
        a = _place(fs, o)
    except OriginateError as exc:
        answered(exc.text)
        return
    b = a.peer
    assert b is not None
    fs.chan_event("CHANNEL_CREATE", a)
    fs.chan_event("CHANNEL_CREATE", b)
    fs.run(b, lambda: fs.execute(b, b.destination, b.context))
    timeout = float(o.var("originate_timeout") or 60)
    waits = {asyncio.ensure_future(fs.answered_ev[a.uuid].wait()),
             asyncio.ensure_future(fs.killed[b.uuid].wait())}
    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for w in waits:
        w.cancel()
    if not a.answered:
        cause = b.hangup_cause if b.gone and b.hangup_cause else "NO_ANSWER"
        a.hangup_cause = cause
        fs.kill(b, cause)
        fs.hangup_now(a)
        answered(f"-ERR {cause}\n")
        return
    answered(f"+OK {a.uuid}\n")
    fs.run(a, lambda: _run_a(fs, a, o))


def _place(fs: FsSwitch, o: Originate) -> FsChannel:
    parts = o.endpoint.split("/")
    if len(parts) < 2 or parts[0] != "loopback" or not parts[1]:
        raise OriginateError("-ERR CHAN_NOT_IMPLEMENTED\n")
    exten, context = parts[1], parts[2] if len(parts) > 2 and parts[2] else "default"
    uuid = o.var("origination_uuid") or FsChannel.new_uuid()
    if uuid in fs.channels:
        raise OriginateError("-ERR DESTINATION_OUT_OF_ORDER\n")  # switch_core_session_set_uuid
    a = fs.new_channel(f"loopback/{exten}-a", uuid, "outbound", exten, context)
    b = fs.new_channel(f"loopback/{exten}-b", FsChannel.new_uuid(), "inbound", exten,
                         context)
    a.hit_dialplan = False
    a.peer, b.peer = b, a
    name = o.var("origination_caller_id_name") or o.cid_name
    num = o.var("origination_caller_id_number") or o.cid_num or "0000000000"
    for leg in (a, b):
        leg.cid_name = leg.orig_cid_name = name
        leg.cid_num = leg.orig_cid_num = num
        leg.callee_name, leg.callee_num = "Outbound Call", context
    for k, v in o.variables:
        a.setvar(k, v)
        if "${" not in v:  # loopback copies values expanded: ${..} ones are lost (C10)
            b.setvar(k, v)
    for k, v in (("originate_early_media", "true"), ("originate_endpoint", "loopback"),
                 ("other_loopback_leg_uuid", b.uuid), ("loopback_leg", "A")):
        a.setvar(k, v)
    b.setvar("other_loopback_leg_uuid", a.uuid)
    b.setvar("loopback_leg", "B")
    fs.audio[a.uuid] = Audio(a.rate)
    fs.audio_in[a.uuid] = collections.deque(maxlen=AUDIO_IN_FRAMES)
    return a


async def _run_a(fs: FsSwitch, a: FsChannel, o: Originate) -> None:
    a.state, a.call_state = "CS_EXECUTE", "ACTIVE"
    a.hit_dialplan = True
    # the loopback a-leg's caller id flips to the b-leg's callee (FINDINGS "Caller id")
    a.cid_name, a.callee_name = a.callee_name, a.orig_cid_name
    a.cid_num, a.callee_num = a.callee_num, a.orig_cid_num
    a.setvar("endpoint_disposition", "ANSWER")
    if o.app:
        await fs.app(a, o.app, a.expand(o.app_args))
    else:
        a.destination, a.context = o.exten, o.context  # its caller profile now (C2 CID5)
        await fs.execute(a, o.exten, o.context)
