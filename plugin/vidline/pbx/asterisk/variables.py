"""The Originate action for a customer leg, and the VIDLINE_* channel variables.

What Asterisk does with a ``Variable:`` value (shared/asterisk G): a comma
splits it into another assignment (``...?a=1,VIDLINE_KIOSK=x`` really set
VIDLINE_KIOSK), quotes are stripped, a line of 1024 bytes or more rejects the
whole action, and CR/LF starts a new header or a new action. The dialplan then
expands the values inside application arguments, where ``,`` ``|`` ``(`` ``)``
``$`` ``{`` ``}`` ``;`` and ``\\`` mean something too.

So every value is percent-encoded outside a small safe set (``%`` itself
included, so decoding is exact), and each field has a length limit that
keeps its line far below 1024 bytes. Text fields are cut on a character
boundary of the original (never inside a ``%XX`` triple or a UTF-8
sequence); identifiers (session, queue, agent, numbers) are validated and
refused instead, because a cut identifier would route the call wrongly.

Values come back from Asterisk in two forms: VarSet and ``ChanVariable:``
lines C-escape them (``checkout\\?step=2``), the ``ChanVariable(chan):`` lines
of OriginateResponse do not (shared/asterisk FINDINGS). :func:`decode_value`
takes the form as a flag.
"""

from __future__ import annotations

import re

from vidline.pbx.base import PlaceCall
from vidline.pbx.percent import percent_encode

# The variables' names, fixed for the dialplan, manager.conf channelvars and CDR.
SESSION = "VIDLINE_SESSION"
QUEUE = "VIDLINE_QUEUE"
PRIO = "VIDLINE_PRIO"
QUEUE_TIMEOUT = "VIDLINE_QUEUE_TIMEOUT"
CUSTOMER_ID = "VIDLINE_CUSTOMER_ID"
PHONE = "VIDLINE_PHONE"
CATEGORY = "VIDLINE_CATEGORY"
PAGE_URL = "VIDLINE_PAGE_URL"
KIOSK = "VIDLINE_KIOSK"
PANEL_URL = "VIDLINE_PANEL_URL"
PREFERRED_AGENT = "VIDLINE_PREFERRED_AGENT"
PREF_TIMEOUT = "VIDLINE_PREF_TIMEOUT"

VARIABLE_NAMES = (
    SESSION, QUEUE, PRIO, QUEUE_TIMEOUT, CUSTOMER_ID, PHONE, CATEGORY, PAGE_URL, KIOSK,
    PANEL_URL, PREFERRED_AGENT, PREF_TIMEOUT,
)

# Longest encoded value per text field. The page URL is also stored in a
# varchar(512) CDR column, hence 500; the longest line is then
# "Variable: __VIDLINE_PANEL_URL=" + 500 bytes, about half the 1023 allowed.
TEXT_LIMITS = {
    CUSTOMER_ID: 200,
    PHONE: 40,
    CATEGORY: 100,
    PAGE_URL: 500,
    KIOSK: 200,
    PANEL_URL: 500,
}

# Everything else is %XX-encoded: the characters above that Asterisk or the
# dialplan interpret, space, '%', quotes, '<>', '`', '^', '[]', controls and
# every non-ASCII byte. What stays readable is what URLs and ids need.
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!&*+=")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")
PHONE_RE = re.compile(r"^\+?[0-9]{1,32}$")
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_C_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def encode_value(value: str, limit: int) -> str:
    """Percent-encode ``value`` outside the safe set, cut to ``limit`` characters
    on a boundary of the original text."""
    return percent_encode(value, limit, _SAFE)


def _percent_decode(value: str) -> str:
    if "%" not in value:
        return value
    raw = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "%" and _is_hex(value[i + 1 : i + 3]):
            raw.append(int(value[i + 1 : i + 3], 16))
            i += 3
            continue
        raw += char.encode("utf-8")
        i += 1
    return raw.decode("utf-8", errors="replace")


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def decode_value(raw: str, *, escaped: bool = True) -> str:
    """The original text of a VIDLINE_* value as Asterisk reports it.

    ``escaped``: the value comes from VarSet or a ``ChanVariable:`` header,
    which Asterisk C-escapes; False for OriginateResponse's
    ``ChanVariable(channel):`` lines, which it does not.
    """
    if escaped and "\\" in raw:
        raw = _ESCAPE_RE.sub(lambda m: _C_ESCAPES.get(m.group(1), m.group(1)), raw)
    return _percent_decode(raw)


def _checked(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} does not match {pattern.pattern}")
    return value


def channel_variables(call: PlaceCall) -> list[tuple[str, str]]:
    """The VIDLINE_* variables of a call, names without the ``__`` prefix,
    values encoded. Raises ValueError for an invalid identifier."""
    ctx = call.context
    session = _checked("interaction id", call.interaction_id, UUID_RE)
    agent = call.preferred_agent
    text = {
        CUSTOMER_ID: ctx.customer_id,
        PHONE: ctx.phone,
        CATEGORY: ctx.category,
        PAGE_URL: ctx.page_url,
        KIOSK: ctx.kiosk_location,
        PANEL_URL: call.panel_url,
    }
    values = {
        SESSION: session,
        QUEUE: _checked("queue", call.queue, _NAME_RE),
        PRIO: str(int(call.priority)),
        QUEUE_TIMEOUT: str(int(call.queue_timeout)),
        PREFERRED_AGENT: "" if agent is None else _checked("preferred agent", agent, _NAME_RE),
        PREF_TIMEOUT: str(int(call.preferred_timeout)),
    }
    for name, value in text.items():
        values[name] = "" if value is None else encode_value(value, TEXT_LIMITS[name])
    return [(name, values[name]) for name in VARIABLE_NAMES]


def audiosocket_dial(host: str, port: int, interaction_id: str, sample_rate: int) -> str:
    """The Originate Channel: ``AudioSocket/<host>:<port>/<uuid>``, with
    ``/c(slin16)`` for 16 kHz (Asterisk 20.17/21.12/22.7/23.1 and newer)."""
    _checked("AudioSocket host", host, _HOST_RE)
    _checked("interaction id", interaction_id, UUID_RE)
    if sample_rate not in (8000, 16000):
        raise ValueError(f"sample rate {sample_rate} is not 8000 or 16000")
    dial = f"AudioSocket/{host}:{int(port)}/{interaction_id}"
    return dial + "/c(slin16)" if sample_rate == 16000 else dial


def audiosocket_channel_name(host: str, port: int, interaction_id: str) -> str:
    """What Asterisk names the leg: a dash, not a slash, before the uuid."""
    return f"AudioSocket/{host}:{int(port)}-{interaction_id}"


def originate_headers(
    call: PlaceCall,
    *,
    audiosocket_host: str,
    audiosocket_port: int,
    sample_rate: int,
    context: str,
    exten: str,
    timeout_ms: int,
    action_id: str,
) -> list[tuple[str, str]]:
    """The headers of the Originate that puts ``call``'s leg into the dialplan.

    ChannelId = the interaction id, so Asterisk makes it the leg's Uniqueid,
    Linkedid, queue_log callid and CDR uniqueid (shared/asterisk I). Async is
    always true: the outcome comes as an OriginateResponse event.
    """
    headers = [
        ("Action", "Originate"),
        ("ActionID", action_id),
        ("Channel", audiosocket_dial(audiosocket_host, audiosocket_port,
                                     call.interaction_id, sample_rate)),
        ("ChannelId", call.interaction_id),
        ("Context", _checked("context", context, _NAME_RE)),
        ("Exten", _checked("exten", exten, _NAME_RE)),
        ("Priority", "1"),
    ]
    phone = call.context.phone
    # Only a validated number reaches the CallerID header; anything else
    # still travels, encoded, in VIDLINE_PHONE.
    if phone is not None and PHONE_RE.fullmatch(phone):
        headers.append(("CallerID", f'"{phone}" <{phone}>'))
    headers += [("Timeout", str(int(timeout_ms))), ("Async", "true")]
    # "__" makes the variables inheritable, so the agent's leg carries them too.
    headers += [("Variable", f"__{name}={value}") for name, value in channel_variables(call)]
    return headers


def chan_variables(values: list[str], *, escaped: bool = True) -> dict[str, str]:
    """``NAME=value`` strings (ChanVariable headers) as a dict, values decoded.
    A leading ``__`` or ``_`` is dropped from the name."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if sep:
            out[name.lstrip("_")] = decode_value(value, escaped=escaped)
    return out
