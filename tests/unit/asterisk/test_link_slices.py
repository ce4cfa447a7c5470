"""The AMI link hands a big read to its handlers a slice per loop iteration,
in order, and everything read before a close before the link is lost."""

from __future__ import annotations

import asyncio

from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.asterisk.link import AMI_SLICE, _Protocol


class NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def events(first: int, count: int) -> bytes:
    return b"".join(b"Event: VarSet\r\nValue: %d\r\n\r\n" % n for n in range(first, first + count))


def values(seen: list[AmiMessage]) -> list[int]:
    return [int(m.get("Value")) for m in seen]


async def test_a_big_read_is_handled_a_slice_per_loop_iteration_in_order() -> None:
    seen: list[AmiMessage] = []
    protocol = _Protocol(seen.append)
    protocol.connection_made(NullTransport())  # type: ignore[arg-type]
    protocol.data_received(b"Asterisk Call Manager/6.0.0\r\n" + events(0, 2 * AMI_SLICE + 50))
    assert protocol.banner.result() == "Asterisk Call Manager/6.0.0"
    assert values(seen) == list(range(AMI_SLICE - 1))  # the banner had a place in the slice
    protocol.data_received(events(2 * AMI_SLICE + 50, 3))  # queued behind, not ahead
    told = [len(seen)]
    for _ in range(3):
        await asyncio.sleep(0)
        told.append(len(seen))
    total = 2 * AMI_SLICE + 53
    assert told == [AMI_SLICE - 1, 2 * AMI_SLICE - 1, total, total]
    assert values(seen) == list(range(total))
    protocol.data_received(events(0, 3))  # a small read with nothing waiting: at once
    assert len(seen) == total + 3


async def test_what_was_read_before_the_close_is_handled_before_the_link_is_lost() -> None:
    seen: list[AmiMessage] = []
    protocol = _Protocol(seen.append)
    protocol.connection_made(NullTransport())  # type: ignore[arg-type]
    protocol.data_received(b"Asterisk Call Manager/6.0.0\r\n" + events(0, 3 * AMI_SLICE))
    assert len(seen) < 3 * AMI_SLICE
    protocol.connection_lost(None)
    assert values(seen) == list(range(3 * AMI_SLICE))
    assert protocol.lost.done()
    await asyncio.sleep(0)
    assert len(seen) == 3 * AMI_SLICE  # nothing handled twice
