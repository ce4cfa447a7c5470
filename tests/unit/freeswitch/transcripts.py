"""The FreeSWITCH 1.10.12 transcripts copied from shared/freeswitch (raw bytes
as received on the ESL socket) and helpers to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "freeswitch"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def summary(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return data


def messages(name: str) -> list[Any]:
    from vidline.pbx.freeswitch.codec import EslParser

    return EslParser().feed(raw(name))


def events(name: str) -> list[Any]:
    from vidline.pbx.freeswitch.codec import EVENT_PLAIN, decode_event

    return [decode_event(m.body) for m in messages(name) if m.content_type == EVENT_PLAIN]
