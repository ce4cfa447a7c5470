"""The ``originate`` of a customer leg, and the vidline_* channel variables.

What FreeSWITCH 1.10.12 does with a value inside ``{...}`` (shared/freeswitch
FINDINGS, C): a comma ends it (the rest is silently dropped), quotes are
eaten, a space splits the whole command (the originate fails), a raw LF cuts
the command and two raw LFs inject an ``api`` command, anything holding
``${`` is dropped with a CRIT, and the text ``origination_nested_vars``
anywhere in the command turns on expansion of ``${...}`` (mod_cdr_csv then
evaluates it).

So every value is percent-encoded outside a small safe set that has none of
``, ' " space { } $ ^ = _ \\`` nor controls (``%`` itself included, so
decoding is exact). ``_`` is encoded so that no value can ever contain the
text ``origination_nested_vars``; ``$`` and ``{`` so that no ``${`` ever
reaches FreeSWITCH. Nothing is refused or cut silently: the context
validation (web layer, 4xx naming the field) has already refused control
characters and over-long fields, and text fields are cut here only at the
same limits as on Asterisk, on a character boundary. Identifiers (session,
queue, agent) are validated and refused (ValueError -> PbxError) instead,
because a changed identifier would route the call wrongly.
:func:`check_command` is the last wall: it refuses the finished command if a
bug ever let one of those sequences through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vidline.pbx.asterisk.variables import PHONE_RE, TEXT_LIMITS, UUID_RE
from vidline.pbx.base import PlaceCall
from vidline.pbx.percent import percent_encode

# Text fields share Asterisk's limits (same CDR columns).
LIMITS = {
    "vidline_customer_id": TEXT_LIMITS["VIDLINE_CUSTOMER_ID"],
    "vidline_phone": TEXT_LIMITS["VIDLINE_PHONE"],
    "vidline_category": TEXT_LIMITS["VIDLINE_CATEGORY"],
    "vidline_page_url": TEXT_LIMITS["VIDLINE_PAGE_URL"],
    "vidline_kiosk": TEXT_LIMITS["VIDLINE_KIOSK"],
    "vidline_panel_url": TEXT_LIMITS["VIDLINE_PANEL_URL"],
}

# The variables copied to the agent's legs and bridge-agent-* events (FINDINGS:
# only with cc_export_vars); also the CDR template's columns.
EXPORTED = (
    "vidline_session", "vidline_queue", "vidline_customer_id", "vidline_phone",
    "vidline_category", "vidline_page_url", "vidline_kiosk", "vidline_panel_url",
)

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.~:/?#@!*+")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$")
_FORBIDDEN = ("\r", "\n", "\0", "${", "origination_nested_vars")


def encode_value(value: str, limit: int) -> str:
    """Percent-encode ``value`` outside the safe set, cut to ``limit``
    characters on a boundary of the original text."""
    return percent_encode(value, limit, _SAFE)


def decode_value(value: str) -> str:
    """The original text of a vidline_* value (events are URL-decoded once by
    the codec; this undoes vidline's own encoding)."""
    from urllib.parse import unquote

    return unquote(value, errors="replace")


def _checked(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} does not match {pattern.pattern}")
    return value


def fs_queue(queue: str, domain: str) -> str:
    """vidline's queue name -> mod_callcenter's (``support`` -> ``support@default``)."""
    _checked("queue", queue, _NAME_RE)
    return f"{queue}@{_checked('queue domain', domain, _DOMAIN_RE)}"


def vidline_queue(fs_name: str) -> str:
    """mod_callcenter's queue name -> vidline's (the part before ``@``)."""
    return fs_name.partition("@")[0]


@dataclass(frozen=True, slots=True)
class Dialplan:
    """Where the two halves of the loopback leg go (``vidline dialplan``
    renders these extensions). ``inline``: the member runs
    ``&callcenter(queue)`` directly, without the caller-id fix and without
    the preferred-agent fallback (for a FreeSWITCH without vidline's dialplan)."""

    context: str = "vidline"
    park_exten: str = "vidline_park"
    queue_exten: str = "vidline_queue"
    preferred_exten: str = "vidline_preferred"
    inline: bool = False


def originate_variables(call: PlaceCall, domain: str,
                        score_per_priority: int) -> list[tuple[str, str]]:
    """The ``{...}`` variables of ``call``'s leg, values encoded."""
    ctx = call.context
    iid = _checked("interaction id", call.interaction_id, UUID_RE)
    phone = ctx.phone if ctx.phone is not None and PHONE_RE.fullmatch(ctx.phone) else None
    cid_name = ctx.customer_id or "vidline"
    values: list[tuple[str, str]] = [
        ("origination_uuid", iid),
        ("vidline_session", iid),
        # vidline's queue name, as in Asterisk's CDR column; the dialplan
        # queues into vidline_cc_queue, mod_callcenter's <queue>@<domain>
        ("vidline_queue", _checked("queue", call.queue, _NAME_RE)),
        ("vidline_cc_queue", fs_queue(call.queue, domain)),
        ("vidline_prio", str(int(call.priority))),
        ("vidline_queue_timeout", str(int(call.queue_timeout))),
    ]
    agent = call.preferred_agent
    if agent is not None:
        _checked("preferred agent", agent, _NAME_RE)
        values += [("vidline_preferred_agent", f"{agent}@{domain}"),
                   ("vidline_pref_queue", fs_queue(f"agent-{agent}", domain)),
                   ("vidline_pref_timeout", str(int(call.preferred_timeout)))]
    text = {
        "vidline_customer_id": ctx.customer_id,
        "vidline_phone": ctx.phone,
        "vidline_category": ctx.category,
        "vidline_page_url": ctx.page_url,
        "vidline_kiosk": ctx.kiosk_location,
        "vidline_panel_url": call.panel_url,
    }
    values += [(name, encode_value(value, LIMITS[name]))
               for name, value in text.items() if value]
    values += [
        # the member's caller id: the dialplan's set_profile_var reads these
        # (a loopback a-leg ignores origination_caller_id_*, FINDINGS)
        ("vidline_cid_number", phone or "vidline"),
        ("vidline_cid_name", encode_value(cid_name, 64)),
        ("origination_caller_id_number", phone or "vidline"),
        ("origination_caller_id_name", encode_value(cid_name, 64)),
        # higher is served first; the score also grows by one per second
        # waited, so a priority step outweighs any realistic wait
        ("cc_base_score", str(max(0, int(call.priority)) * score_per_priority)),
        # "\," is a literal comma inside a {} value (FINDINGS C: a\,b -> a,b)
        ("cc_export_vars", "\\,".join(EXPORTED)),
    ]
    return values


def originate_command(call: PlaceCall, *, domain: str, dialplan: Dialplan,
                      score_per_priority: int = 100_000) -> str:
    """``originate {vars}loopback/<park>/<context> <destination>`` (sent as bgapi)."""
    for name in ("context", "park_exten", "queue_exten", "preferred_exten"):
        _checked(name, getattr(dialplan, name), _NAME_RE)
    variables = originate_variables(call, domain, score_per_priority)
    block = ",".join(f"{name}={value}" for name, value in variables)
    leg = f"loopback/{dialplan.park_exten}/{dialplan.context}"
    if dialplan.inline:
        destination = f"&callcenter({fs_queue(call.queue, domain)})"
    else:
        exten = dialplan.queue_exten if call.preferred_agent is None else dialplan.preferred_exten
        destination = f"{exten} XML {dialplan.context}"
    command = f"originate {{{block}}}{leg} {destination}"
    check_command(command)
    return command


def check_command(command: str) -> None:
    """Refuse an API command that could inject or expand (the last wall)."""
    for bad in _FORBIDDEN:
        if bad in command:
            raise ValueError(f"refusing an ESL command containing {bad!r}")
    start, end = command.find("{"), command.find("}")
    if start >= 0 and " " in command[start:end]:
        raise ValueError("refusing an originate with a space inside its variables")


def uuid_arg(value: str) -> str:
    """A channel uuid for an api argument (uuid_kill, uuid_getvar, sendmsg)."""
    return _checked("channel uuid", value, UUID_RE)
