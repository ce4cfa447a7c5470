"""mod_event_socket's wire format, without I/O: commands in, bytes out.

Inbound: mod_event_socket reads a command packet line by line up to an
empty line; the first line is the command, the next ``name: value`` lines
its headers (sendmsg), a line without a colon is ignored. So a raw LF in an
originate string cuts the command there, and two raw LFs end the packet:
what follows is read as the next command (FINDINGS, C8/C9).

Outbound, exactly as the transcripts show the bytes: ``command/reply`` with
``Reply-Text``, ``api/response`` with a Content-Length body, plain events
(``text/event-plain``: header values URL-encoded with switch_url_encode's
unsafe set, a body after ``Content-Length`` inside the event), and the
``text/disconnect-notice`` on exit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAX_PACKET = 1 << 20  # a client that never ends its packet gets cut off, not buffered forever

# switch_utils.c switch_url_encode_opt(): these, controls and bytes above '~'
_URL_UNSAFE = frozenset(b"\r\n \"#%&+:;<=>?@[\\]^`{|}")
_ENCODE = [chr(b) if 0x20 <= b <= 0x7E and b not in _URL_UNSAFE else f"%{b:02X}"
           for b in range(256)]

DISCONNECT_NOTICE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

Headers = list[tuple[str, str]]


def url_encode(value: str) -> str:
    return "".join(_ENCODE[b] for b in value.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True, slots=True)
class Command:
    line: str  # the first line, without its LF
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def verb(self) -> str:
        return self.line.split(" ", 1)[0].strip().lower()

    @property
    def arg(self) -> str:
        parts = self.line.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""

    def header(self, name: str) -> str:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), "")


class ProtocolError(ValueError):
    pass


@dataclass
class CommandReader:
    """Feed bytes, get whole command packets."""

    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        out: list[Command] = []
        while True:
            end = self._buf.find(b"\n\n")
            if end < 0:
                if len(self._buf) > MAX_PACKET:
                    raise ProtocolError("command packet too long")
                return out
            packet = bytes(self._buf[:end])
            del self._buf[:end + 2]
            lines = [ln.rstrip("\r") for ln in packet.decode("utf-8", "replace").split("\n")]
            while lines and not lines[0].strip():
                lines.pop(0)  # a stray empty line between packets
            if not lines:
                continue
            headers = []
            for ln in lines[1:]:
                name, sep, value = ln.partition(":")
                if sep:
                    headers.append((name.strip(), value.strip()))
            out.append(Command(lines[0], tuple(headers)))


def command_reply(text: str, *extra: tuple[str, str]) -> bytes:
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\n".join(lines) + "\n\n").encode()


def api_response(body: str) -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(raw), raw)


def auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def disconnect_notice() -> bytes:
    return (b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s"
            % (len(DISCONNECT_NOTICE), DISCONNECT_NOTICE))


def plain_event(headers: Sequence[tuple[str, str]], body: str = "") -> bytes:
    text = "".join(f"{k}: {url_encode(v)}\n" for k, v in headers)
    if body:
        raw_body = body.encode("utf-8", "surrogateescape")
        payload = text.encode() + b"Content-Length: %d\n\n" % len(raw_body) + raw_body
    else:
        payload = text.encode() + b"\n"
    return (b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(payload)) + payload


# switch_event_types_t names (switch_event.c EVENT_NAMES) the sandbox knows of
EVENT_NAMES = frozenset({
    "CUSTOM", "CLONE", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_STATE",
    "CHANNEL_CALLSTATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HOLD", "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE", "CHANNEL_UUID", "API", "LOG", "INBOUND_CHAN", "OUTBOUND_CHAN",
    "STARTUP", "SHUTDOWN", "PUBLISH", "UNPUBLISH", "TALK", "NOTALK", "SESSION_CRASH",
    "MODULE_LOAD", "MODULE_UNLOAD", "DTMF", "MESSAGE", "PRESENCE_IN", "NOTIFY_IN",
    "PRESENCE_OUT", "PRESENCE_PROBE", "MESSAGE_WAITING", "MESSAGE_QUERY", "ROSTER",
    "CODEC", "BACKGROUND_JOB", "DETECTED_SPEECH", "DETECTED_TONE", "PRIVATE_COMMAND",
    "HEARTBEAT", "TRAP", "ADD_SCHEDULE", "DEL_SCHEDULE", "EXE_SCHEDULE", "RE_SCHEDULE",
    "RELOADXML", "NOTIFY", "PHONE_FEATURE", "PHONE_FEATURE_SUBSCRIBE", "SEND_MESSAGE",
    "RECV_MESSAGE", "REQUEST_PARAMS", "CHANNEL_DATA", "GENERAL", "COMMAND", "SESSION_HEARTBEAT",
    "CLIENT_DISCONNECTED", "SERVER_DISCONNECTED", "SEND_INFO", "RECV_INFO",
    "RECV_RTCP_MESSAGE", "SEND_RTCP_MESSAGE", "CALL_SECURE", "NAT", "RECORD_START",
    "RECORD_STOP", "PLAYBACK_START", "PLAYBACK_STOP", "CALL_UPDATE", "FAILURE",
    "SOCKET_DATA", "MEDIA_BUG_START", "MEDIA_BUG_STOP", "CONFERENCE_DATA_QUERY",
    "CONFERENCE_DATA", "CALL_SETUP_REQ", "CALL_SETUP_RESULT", "CALL_DETAIL",
    "DEVICE_STATE", "TEXT", "SHUTDOWN_REQUESTED", "ALL",
})


@dataclass
class Subscription:
    """mod_event_socket's event_list + event_hash of one listener."""

    names: set[str] = field(default_factory=set)
    subclasses: set[str] = field(default_factory=set)

    @property
    def active(self) -> bool:
        return bool(self.names)

    def add(self, words: Iterable[str]) -> int:
        """``event plain <words>``: once CUSTOM is seen every later word is a
        subclass (the FINDINGS trap). Returns how many event names were known."""
        custom = False
        keys = 0
        for word in words:
            if custom:
                self.subclasses.add(word)
                continue
            name = word.upper()
            if name not in EVENT_NAMES:
                continue
            keys += 1
            self.names.add(name)
            if name == "CUSTOM":
                custom = True
        return keys

    def wants(self, name: str, subclass: str = "") -> bool:
        if "ALL" in self.names:
            return True
        if name == "CUSTOM":
            return "CUSTOM" in self.names and subclass in self.subclasses
        return name in self.names
