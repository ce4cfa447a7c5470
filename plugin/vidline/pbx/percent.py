"""Percent-encoding of context values for PBX variables: what each PBX may
see unencoded differs (its own safe set), the cut does not."""

from __future__ import annotations


def percent_encode(value: str, limit: int, safe: frozenset[str]) -> str:
    """``value`` with every character outside ``safe`` percent-encoded
    (UTF-8), cut to at most ``limit`` characters on a boundary of the
    original text (an escape is never split)."""
    out: list[str] = []
    size = 0
    for char in value:
        piece = char if char in safe else "".join(f"%{b:02X}" for b in char.encode("utf-8"))
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)
