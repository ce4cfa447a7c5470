"""The originate string, parsed as FreeSWITCH 1.10.12 parses it.

Two stages, both switch_utils.c switch_separate_string():

1. mod_commands originate_function splits the whole argument on blanks
   (separate_string_blank_delim): single quotes group and are removed (only
   when a closing quote follows), backslash escapes ``\\n \\r \\t \\s \\' \\"
   \\\\`` become the character, any other backslash stays. So ``'hello
   world'`` is one argument, ``'a,b'`` arrives as ``a,b``, the two characters
   ``\\n`` become a real newline, ``a\\,b`` keeps its backslash.
2. switch_event_create_brackets splits the ``{...}`` part on ``,`` (or the
   ``^^X`` delimiter) with separate_string_char_delim: a backslash protects
   the next character and is removed when it escapes the delimiter, a
   quote or itself. Each piece splits once on ``=``; a piece without ``=``
   is dropped silently.

Then (switch_ivr_originate) a value containing ``${`` is dropped with a CRIT
log unless the text ``origination_nested_vars=true`` occurs anywhere in the
originate string (a substring search, FINDINGS C10).

Results as the transcripts show them: ``-USAGE: ...`` for fewer than two or
more than seven arguments, ``-ERR DESTINATION_OUT_OF_ORDER`` when the
``{...}`` has no closing brace (what an unquoted space does to a value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

USAGE = ("-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] "
         "[<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n")

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}
_APP_RE = re.compile(r"^&(?P<app>[^(]+)(?:\((?P<args>.*)\))?$", re.S)


def _cleanup(piece: str, delim: str) -> str:
    """cleanup_separated_string(): unescape, drop paired quotes, trim blanks."""
    out: list[str] = []
    inside = False
    i = 0
    n = len(piece)
    while i < n:
        c = piece[i]
        if c == "\\" and i + 1 < n:
            e = piece[i + 1]
            if e in ("'", '"', "\\") or (delim and e == delim):
                out.append(e)
                i += 2
                continue
            if e in _UNESCAPE:
                out.append(_UNESCAPE[e])
                i += 2
                continue
        if c == "'" and (inside or "'" in piece[i + 1:]):
            inside = not inside
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out).strip(" ")


def split_blank(text: str, limit: int = 128) -> list[str]:
    """separate_string_blank_delim(): blanks outside quotes separate."""
    pieces: list[str] = []
    cur: list[str] = []
    inside = False
    started = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur += [c, text[i + 1]]
            started = True
            i += 2
            continue
        if c == "'" and (inside or "'" in text[i + 1:]):
            inside = not inside
        elif c in " \t" and not inside:
            if started:
                pieces.append("".join(cur))
                cur, started = [], False
            i += 1
            continue
        cur.append(c)
        started = True
        i += 1
    if started:
        pieces.append("".join(cur))
    return [_cleanup(p, "") for p in pieces[:limit]]


def split_char(text: str, delim: str, limit: int = 1024) -> list[str]:
    """switch_separate_string() for a non-blank delimiter (``^^X`` switches it)."""
    if text.startswith("^^") and len(text) > 3:
        delim, text = text[2], text[3:]
    pieces: list[str] = []
    start = 0
    inside = False
    i = 0
    while i < len(text):
        if len(pieces) == limit - 1:
            break  # the last piece keeps the rest, as the C loop stops counting
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and (inside or "'" in text[i + 1:]):
            inside = not inside
        elif c == delim and not inside:
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return [_cleanup(p, delim) for p in pieces]


@dataclass
class Originate:
    endpoint: str  # e.g. loopback/customer_device/default
    variables: list[tuple[str, str]] = field(default_factory=list)
    app: str = ""  # "&callcenter(support@default)" -> callcenter
    app_args: str = ""
    exten: str = ""  # the dialplan way: exten [XML [context]]
    dialplan: str = "XML"
    context: str = "default"
    cid_name: str = ""
    cid_num: str = ""
    dropped: list[str] = field(default_factory=list)  # ${...} values refused (CRIT)

    def var(self, name: str) -> str:
        return next((v for k, v in reversed(self.variables) if k == name), "")


class OriginateError(ValueError):
    """``text`` is the api reply (``-USAGE: ...`` or ``-ERR CAUSE``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _end_brace(text: str) -> int:
    """switch_find_end_paren(): the ``}`` closing the first ``{``, nesting counted
    (``${expr(6*7)}`` inside a value does not end the variables)."""
    depth = 0
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def parse_originate(arg: str) -> Originate:
    argv = split_blank(arg, 7 + 1)
    if len(argv) < 2 or len(argv) > 7:
        raise OriginateError(USAGE)
    url, dest = argv[0], argv[1]
    variables: list[tuple[str, str]] = []
    if url.startswith("{"):
        end = _end_brace(url)
        if end < 0:
            # switch_event_create_brackets: "Parse Error!" -> the call fails
            raise OriginateError("-ERR DESTINATION_OUT_OF_ORDER\n")
        for piece in split_char(url[1:end], ","):
            pair = split_char(piece, "=", 2)
            if len(pair) == 2 and pair[0]:
                variables.append((pair[0], pair[1]))
        url = url[end + 1:]
    result = Originate(url)
    nested = "origination_nested_vars=true" in arg
    for name, value in variables:
        if "${" in value and not nested:
            result.dropped.append(name)
            continue
        result.variables.append((name, value))
    app = _APP_RE.match(dest)
    if app is not None:
        result.app, result.app_args = app.group("app"), app.group("args") or ""
    else:
        result.exten = dest
        if len(argv) > 2:
            result.dialplan = argv[2]
        if len(argv) > 3:
            result.context = argv[3]
    if len(argv) > 4:
        result.cid_name = argv[4]
    if len(argv) > 5:
        result.cid_num = argv[5]
    return result
