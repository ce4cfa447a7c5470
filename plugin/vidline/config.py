"""vidline's configuration: one TOML file, loaded once into frozen typed objects.

Nothing reads configuration at import time: the composition root loads it
with :func:`load_config` and passes the parts to whoever needs them. A bad
file raises :class:`ConfigError` naming the key (``routing.rules[2].queue``)
and what is wrong with it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
INTERFACE_RE = re.compile(r"^[A-Za-z]+/[A-Za-z0-9_.@-]{1,64}$")
# a host name or an IPv4/IPv6 address (no scheme, no port)
HOST_RE = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")
# free text shown to people (kiosk names, display names): no control characters
LABEL_RE = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]{1,80}$")
# `vidline passwd` output: scrypt$n$r$p$salt$hash (base64)
PASSWORD_HASH_RE = re.compile(r"^scrypt\$\d{1,8}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/]{8,}={0,2}"
                              r"\$[A-Za-z0-9+/]{16,}={0,2}$")
# an address with an optional /mask or /prefix, as manager.conf permit= takes it
PERMIT_RE = re.compile(r"^[0-9A-Fa-f:.]{2,45}(/[0-9A-Fa-f:.]{1,45})?$")
# The secret goes into manager.conf and the member name into queues.conf and
# queue_log: no control characters (a line break), no ';' (starts a comment),
# no edge spaces (Asterisk trims them); the member name also no ',' or '|'
# (field separators in member lines and queue_log).
SECRET_RE = re.compile(r"^[!-~](?:[ -~]{0,126}[!-~])?$")  # printable ASCII
MEMBER_NAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f\u2028\u2029|,;\\]"
                            r"(?:[^\x00-\x1f\x7f-\x9f\u2028\u2029|,;\\]{0,78}"
                            r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029|,;\\])?$")
STRATEGIES = ("ringall", "rrmemory", "leastrecent", "linear", "fewestcalls", "random",
              # mod_callcenter's names, for the sandbox's FreeSWITCH face
              "ring-all", "longest-idle-agent", "round-robin", "top-down",
              "agent-with-least-talk-time", "agent-with-fewest-calls",
              "sequentially-by-agent-order", "ring-progressively")


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config key {key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""  # empty: a random key per start (sessions end on restart)
    max_body_bytes: int = 16 * 1024
    requests_per_minute: int = 30  # per client address, on the customer API
    frame_ancestors: tuple[str, ...] = ("'self'",)
    # the agent panel inside the agent desktop's iframe (CSP frame-ancestors
    # of /agent pages) and its cookies' SameSite ("None" needs https)
    agent_frame_ancestors: tuple[str, ...] = ("'self'",)
    agent_cookie_samesite: str = "Strict"


@dataclass(frozen=True, slots=True)
class AsteriskConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "vidline"
    secret: str = ""
    context: str = "vidline-inbound"
    exten: str = "s"
    originate_timeout_ms: int = 30000
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    events: str = "call,agent"
    # manager.conf user rendered by `vidline dialplan`: source networks allowed
    # to log in as this user (address/mask), and how long (ms) Asterisk waits
    # on a slow reader before dropping the session
    permit: tuple[str, ...] = ("127.0.0.1/255.255.255.255",)
    writetimeout: int = 5000


@dataclass(frozen=True, slots=True)
class AudioSocketConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 9093
    connect_host: str = "127.0.0.1"  # the address Asterisk dials
    sample_rate: int = 8000  # 16000 needs Asterisk 20.17/21.12/22.7/23.1 or newer


@dataclass(frozen=True, slots=True)
class FreeswitchConfig:
    """``pbx = "freeswitch"``: the ESL link, mod_callcenter's domain, the
    dialplan extensions ``vidline dialplan`` renders, and the unicast audio."""

    host: str = "127.0.0.1"
    port: int = 8021
    password: str = "ClueCon"
    domain: str = "default"  # queues are <name>@<domain>, agents <ext>@<domain>
    command_timeout: float = 5.0  # every api/command reply
    originate_timeout: float = 30.0  # bgapi originate's BACKGROUND_JOB
    ping_interval: float = 10.0  # "api status" keepalive
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    context: str = "vidline"  # the XML dialplan context of vidline's extensions
    park_exten: str = "vidline_park"
    queue_exten: str = "vidline_queue"
    preferred_exten: str = "vidline_preferred"
    inline_callcenter: bool = False  # &callcenter(q) without vidline's dialplan
    score_per_priority: int = 100000  # cc_base_score per routing priority step
    unicast_listen_host: str = "127.0.0.1"  # vidline's UDP sockets bind here
    unicast_host: str = "127.0.0.1"  # the address FreeSWITCH sends audio to
    unicast_fs_host: str = "127.0.0.1"  # FreeSWITCH's local-ip for unicast
    unicast_fs_port_min: int = 41000  # FreeSWITCH's local-port range, one per call
    unicast_fs_port_max: int = 41999


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str = "sqlite:///vidline.db"


@dataclass(frozen=True, slots=True)
class RoutingRule:
    queue: str
    priority: int = 0
    category: str | None = None
    kiosk: str | None = None
    page_pattern: str | None = None  # a regular expression searched in the page URL


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    default_queue: str = "support"
    default_priority: int = 0
    queue_timeout: int = 120
    rules: tuple[RoutingRule, ...] = ()
    # last-agent routing: offer a returning customer (same phone or customer id
    # within last_agent_window seconds, found in queue_log/CDR) to the agent who
    # handled them, for last_agent_timeout seconds, then the routed queue
    last_agent: bool = True
    last_agent_window: int = 900
    last_agent_timeout: int = 12


@dataclass(frozen=True, slots=True)
class AgentConfig:
    username: str
    password_hash: str
    interface: str  # the PBX queue member interface, e.g. PJSIP/1001
    member_name: str
    queues: tuple[str, ...]
    display_name: str = ""
    role: str = "agent"  # or "supervisor": also sees the reports and the wallboard


@dataclass(frozen=True, slots=True)
class CrmLookupConfig:
    """The customer card (vidline.crm.lookup): ``connector`` "" (off),
    "http" (the JSON lookup below) or a ``vidline.crm`` entry point name."""

    connector: str = ""
    url_template: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    headers_from_env: tuple[tuple[str, str], ...] = ()  # header -> environment variable
    fields: tuple[tuple[str, str], ...] = ()  # label -> dotted path in the JSON
    title: str = ""  # dotted path of the card's title
    record_url: str = ""  # dotted path of a link to the record
    timeout: float = 3.0
    options: tuple[tuple[str, Any], ...] = ()  # passed to a custom connector


@dataclass(frozen=True, slots=True)
class CrmConfig:
    url_template: str = ""
    open_in: str = "tab"  # or "iframe"
    lookup: CrmLookupConfig = CrmLookupConfig()


@dataclass(frozen=True, slots=True)
class WrapupConfig:
    dispositions: tuple[str, ...] = ("Resolved", "Follow-up needed", "Escalated",
                                     "Information only", "Other")
    max_notes: int = 4000


@dataclass(frozen=True, slots=True)
class SandboxQueueConfig:
    name: str
    strategy: str = "ringall"
    ring_timeout: int = 15  # seconds an agent rings (queues.conf timeout)
    retry: int = 2  # seconds before the next round (queues.conf retry)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    enabled: bool = False
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    auto_answer_after: float | None = 2.0  # None: agents answer through the control API
    queues: tuple[SandboxQueueConfig, ...] = ()
    # the FreeSWITCH face (pbx = "freeswitch"): mod_event_socket's listen-ip,
    # listen-port (0 = any free port) and password; mod_cdr_csv's log-base
    # ("" = CDR rows kept in memory only)
    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    esl_password: str = "ClueCon"
    cdr_csv_dir: str = ""


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    # seconds within which an answered call counts towards the service level
    service_level: int = 20
    service_levels: tuple[tuple[str, int], ...] = ()  # per-queue overrides

    def service_level_of(self, queue: str) -> int:
        return dict(self.service_levels).get(queue, self.service_level)


@dataclass(frozen=True, slots=True)
class IceServerConfig:
    urls: tuple[str, ...]  # stun:host:port, turn:host:port?transport=udp, turns:...
    username: str = ""  # static credentials; empty with media.turn_secret: REST credentials
    credential: str = ""


@dataclass(frozen=True, slots=True)
class MediaConfig:
    # no public default server: without ice_servers only host candidates are used
    ice_servers: tuple[IceServerConfig, ...] = ()
    turn_secret: str = ""  # coturn use-auth-secret / static-auth-secret
    turn_ttl: int = 3600  # seconds a TURN REST credential stays valid
    relay_only: bool = False  # ICE transport policy "relay" on both ends
    agent_video: bool = True  # the agent's camera goes to the customer
    max_message_bytes: int = 64 * 1024  # data channel messages are split under this
    # the one video codec both legs use, forwarded as is: "VP8", or "H264"
    # (constrained baseline, packetization-mode 1) where every browser has it
    video_codec: str = "VP8"


@dataclass(frozen=True, slots=True)
class ReportingConfig:
    """The reporting writer (the database itself is [database] url)."""

    enabled: bool = True
    spool_dir: str = "var/reporting-spool"  # rows wait here while the database is away
    queue_size: int = 10000  # records in memory between the event loop and the writer
    batch_size: int = 500  # records per transaction
    # "auto": vidline writes Asterisk-format queue_log rows only where the PBX
    # writes none (FreeSWITCH); Asterisk and the sandbox write their own
    write_queue_log: str = "auto"  # "auto", "true" or "false"
    retry_min: float = 0.5  # seconds before retrying an unreachable database, doubling
    retry_max: float = 30.0
    spool_max_mb: int = 1024  # cap on the spool file; rows beyond it are counted as lost

    def writes_queue_log(self, pbx: str) -> bool:
        if self.write_queue_log == "auto":
            return pbx == "freeswitch"
        return self.write_queue_log == "true"


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Recording of calls (vidline.recording): media, timeline and snips."""

    enabled: bool = False
    directory: str = "var/recordings"  # <directory>/YYYY/MM/DD/<interaction id>/
    retention_days: int = 90  # `vidline recordings prune` deletes older sets (0: never)
    retention: tuple[tuple[str, int], ...] = ()  # per-queue overrides of retention_days
    link_ttl: int = 300  # seconds a signed playback/download link stays valid
    min_free_mb: int = 200  # a call starting with less free space is not recorded (alert)

    def retention_of(self, queue: str | None) -> int:
        return dict(self.retention).get(queue or "", self.retention_days)


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig
    pbx: str
    asterisk: AsteriskConfig
    audiosocket: AudioSocketConfig
    database: DatabaseConfig
    categories: tuple[str, ...]
    routing: RoutingConfig
    agents: tuple[AgentConfig, ...]
    crm: CrmConfig
    sandbox: SandboxConfig
    reports: ReportsConfig = ReportsConfig()
    media: MediaConfig = MediaConfig()
    reporting: ReportingConfig = ReportingConfig()
    recording: RecordingConfig = RecordingConfig()
    wrapup: WrapupConfig = WrapupConfig()
    freeswitch: FreeswitchConfig = FreeswitchConfig()


class _Section:
    """Reads typed values out of one TOML table, remembering the key path."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, "must be a table")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python; a port of `true` is a mistake, not 1
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(self.key(name), f"must be {_kind_name(kind)}, not a boolean")
        if not isinstance(value, kind):
            raise ConfigError(self.key(name), f"must be {_kind_name(kind)}")
        return value

    def text(self, name: str, default: Any = "", pattern: re.Pattern[str] | None = None,
            choices: tuple[str, ...] | None = None) -> Any:
        value = self._get(name, str, default)
        if value is None or value == default:
            return value
        if pattern is not None and not pattern.fullmatch(value):
            raise ConfigError(self.key(name), f"{value!r} does not match {pattern.pattern}")
        if choices is not None and value not in choices:
            raise ConfigError(self.key(name), f"{value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value: int = self._get(name, int, default)
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"{value} is outside {low}..{high}")
        return value

    def number(self, name: str, default: float | None, low: float, high: float) -> Any:
        value = self._get(name, (int, float), default)
        if value is not None and not low <= value <= high:
            raise ConfigError(self.key(name), f"{value} is outside {low}..{high}")
        return None if value is None else float(value)

    def flag(self, name: str, default: bool) -> bool:
        value: bool = self._get(name, bool, default)
        return value

    def texts(self, name: str, default: tuple[str, ...] = (),
             pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = self._get(name, list, list(default))
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(f"{self.key(name)}[{i}]", "must be a string")
            if pattern is not None and not pattern.fullmatch(item):
                raise ConfigError(f"{self.key(name)}[{i}]",
                                  f"{item!r} does not match {pattern.pattern}")
        return tuple(value)

    def table(self, name: str) -> _Section:
        value = self._get(name, dict, {})
        return _Section(value, self.key(name))

    def tables(self, name: str) -> list[_Section]:
        value = self._get(name, list, [])
        return [_Section(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "an array", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read(section: _Section, build: Callable[[_Section], T]) -> T:
    result = build(section)
    section.done()
    return result


def _server(s: _Section) -> ServerConfig:
    url_re = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
    return ServerConfig(
        host=s.text("host", "127.0.0.1", pattern=HOST_RE),
        port=s.integer("port", 8080, 0, 65535),
        public_url=s.text("public_url", "http://127.0.0.1:8080", pattern=url_re).rstrip("/"),
        secret_key=s.text("secret_key", ""),
        max_body_bytes=s.integer("max_body_bytes", 16 * 1024, 1024, 1024 * 1024),
        requests_per_minute=s.integer("requests_per_minute", 30, 1, 100000),
        frame_ancestors=s.texts("frame_ancestors", ("'self'",), re.compile(r"^[^\s;,]+$")),
        agent_frame_ancestors=s.texts("agent_frame_ancestors", ("'self'",),
                                      re.compile(r"^[^\s;,]+$")),
        agent_cookie_samesite=s.text("agent_cookie_samesite", "Strict",
                                     choices=("Strict", "Lax", "None")),
    )


def _secret(s: _Section) -> str:
    secret: str = s.text("secret", "", pattern=SECRET_RE)
    if ";" in secret or "\\" in secret:
        raise ConfigError(s.key("secret"), "must not contain ';' or '\\' (manager.conf)")
    return secret


def _asterisk(s: _Section) -> AsteriskConfig:
    config = AsteriskConfig(
        host=s.text("host", "127.0.0.1", pattern=HOST_RE),
        port=s.integer("port", 5038, 1, 65535),
        username=s.text("username", "vidline", pattern=NAME_RE),
        secret=_secret(s),
        context=s.text("context", "vidline-inbound", pattern=NAME_RE),
        exten=s.text("exten", "s", pattern=NAME_RE),
        originate_timeout_ms=s.integer("originate_timeout_ms", 30000, 1000, 600000),
        ping_interval=s.number("ping_interval", 10.0, 0.1, 3600),
        ping_timeout=s.number("ping_timeout", 5.0, 0.1, 600),
        reconnect_min=s.number("reconnect_min", 0.5, 0.01, 60),
        reconnect_max=s.number("reconnect_max", 30.0, 0.1, 3600),
        events=s.text("events", "call,agent", pattern=re.compile(r"^(on|off|[a-z]+(,[a-z]+)*)$")),
        permit=s.texts("permit", ("127.0.0.1/255.255.255.255",), PERMIT_RE),
        writetimeout=s.integer("writetimeout", 5000, 100, 600000),
    )
    if config.reconnect_min > config.reconnect_max:
        raise ConfigError(s.key("reconnect_min"), "must not exceed reconnect_max")
    return config


def _audiosocket(s: _Section) -> AudioSocketConfig:
    host_re = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")
    rate = s.integer("sample_rate", 8000, 8000, 16000)
    if rate not in (8000, 16000):
        raise ConfigError(s.key("sample_rate"), "must be 8000 or 16000")
    return AudioSocketConfig(
        listen_host=s.text("listen_host", "127.0.0.1", pattern=host_re),
        listen_port=s.integer("listen_port", 9093, 0, 65535),
        connect_host=s.text("connect_host", "127.0.0.1", pattern=host_re),
        sample_rate=rate,
    )


def _freeswitch(s: _Section) -> FreeswitchConfig:
    config = FreeswitchConfig(
        host=s.text("host", "127.0.0.1", pattern=HOST_RE),
        port=s.integer("port", 8021, 1, 65535),
        password=s.text("password", "ClueCon", pattern=re.compile(r"^[!-~]{1,128}$")),
        domain=s.text("domain", "default", pattern=NAME_RE),
        command_timeout=s.number("command_timeout", 5.0, 0.1, 600),
        originate_timeout=s.number("originate_timeout", 30.0, 1, 600),
        ping_interval=s.number("ping_interval", 10.0, 0.1, 3600),
        reconnect_min=s.number("reconnect_min", 0.5, 0.01, 60),
        reconnect_max=s.number("reconnect_max", 30.0, 0.1, 3600),
        context=s.text("context", "vidline", pattern=NAME_RE),
        park_exten=s.text("park_exten", "vidline_park", pattern=NAME_RE),
        queue_exten=s.text("queue_exten", "vidline_queue", pattern=NAME_RE),
        preferred_exten=s.text("preferred_exten", "vidline_preferred", pattern=NAME_RE),
        inline_callcenter=s.flag("inline_callcenter", False),
        score_per_priority=s.integer("score_per_priority", 100000, 1, 1000000),
        unicast_listen_host=s.text("unicast_listen_host", "127.0.0.1", pattern=HOST_RE),
        unicast_host=s.text("unicast_host", "127.0.0.1", pattern=HOST_RE),
        unicast_fs_host=s.text("unicast_fs_host", "127.0.0.1", pattern=HOST_RE),
        unicast_fs_port_min=s.integer("unicast_fs_port_min", 41000, 1024, 65535),
        unicast_fs_port_max=s.integer("unicast_fs_port_max", 41999, 1024, 65535),
    )
    if config.reconnect_min > config.reconnect_max:
        raise ConfigError(s.key("reconnect_min"), "must not exceed reconnect_max")
    if config.unicast_fs_port_min > config.unicast_fs_port_max:
        raise ConfigError(s.key("unicast_fs_port_min"), "must not exceed unicast_fs_port_max")
    return config


def _database(s: _Section) -> DatabaseConfig:
    url = s.text("url", "sqlite:///vidline.db",
                pattern=re.compile(r"^(sqlite:///.+|mysql://[^\s]+)$"))
    from vidline.reporting.db import parse_db_url  # here: config stays importable alone

    try:
        parse_db_url(url)
    except ValueError as exc:
        raise ConfigError(s.key("url"), str(exc)) from None
    return DatabaseConfig(url=url)


def _rule(s: _Section, categories: tuple[str, ...]) -> RoutingRule:
    rule = RoutingRule(
        queue=s.text("queue", None, pattern=NAME_RE),
        priority=s.integer("priority", 0, 0, 1000),
        category=s.text("category", None),
        kiosk=s.text("kiosk", None, pattern=LABEL_RE),
        page_pattern=s.text("page_pattern", None),
    )
    if rule.queue is None:
        raise ConfigError(s.key("queue"), "is required")
    matchers = [m for m in (rule.category, rule.kiosk, rule.page_pattern) if m is not None]
    if len(matchers) != 1:
        raise ConfigError(s.path, "needs exactly one of category, kiosk, page_pattern")
    if rule.category is not None and rule.category not in categories:
        raise ConfigError(s.key("category"), f"{rule.category!r} is not in categories")
    if rule.page_pattern is not None:
        try:
            re.compile(rule.page_pattern)
        except re.error as exc:
            raise ConfigError(s.key("page_pattern"), f"not a regular expression: {exc}") from None
    return rule


def _routing(s: _Section, categories: tuple[str, ...]) -> RoutingConfig:
    return RoutingConfig(
        default_queue=s.text("default_queue", "support", pattern=NAME_RE),
        default_priority=s.integer("default_priority", 0, 0, 1000),
        queue_timeout=s.integer("queue_timeout", 120, 1, 86400),
        rules=tuple(_read(r, lambda r: _rule(r, categories)) for r in s.tables("rules")),
        last_agent=s.flag("last_agent", True),
        last_agent_window=s.integer("last_agent_window", 900, 1, 7 * 86400),
        last_agent_timeout=s.integer("last_agent_timeout", 12, 1, 600),
    )


def _reports(s: _Section) -> ReportsConfig:
    overrides = s.table("service_levels")
    levels = tuple((name, overrides.integer(name, 20, 0, 86400))
                   for name in sorted(overrides.data) if NAME_RE.fullmatch(str(name)))
    overrides.done()  # a queue name that is not a name is an unknown key
    return ReportsConfig(service_level=s.integer("service_level", 20, 0, 86400),
                         service_levels=levels)


def _agent(s: _Section) -> AgentConfig:
    agent = AgentConfig(
        username=s.text("username", None, pattern=NAME_RE),
        password_hash=s.text("password_hash", None, pattern=PASSWORD_HASH_RE),
        interface=s.text("interface", None, pattern=INTERFACE_RE),
        member_name=s.text("member_name", None, pattern=MEMBER_NAME_RE),
        queues=s.texts("queues", (), NAME_RE),
        display_name=s.text("display_name", "", pattern=LABEL_RE),
        role=s.text("role", "agent", choices=("agent", "supervisor")),
    )
    for name in ("username", "password_hash", "interface", "member_name"):
        if getattr(agent, name) is None:
            raise ConfigError(s.key(name), "is required")
    return agent


def _crm(s: _Section) -> CrmConfig:
    return CrmConfig(
        url_template=s.text("url_template", ""),
        open_in=s.text("open_in", "tab", choices=("tab", "iframe")),
        lookup=_read(s.table("lookup"), _crm_lookup),
    )


HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
HEADER_VALUE_RE = re.compile(r"^[\x20-\x7e]{0,4096}$")  # no CR/LF: no header injection
JSON_PATH_RE = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+){0,9}$")


def _pairs(s: _Section, name: str, value_re: re.Pattern[str]) -> tuple[tuple[str, str], ...]:
    table = s.table(name)
    pairs = []
    for key, value in table.data.items():
        table.seen.add(key)
        if not isinstance(value, str) or not value_re.fullmatch(value):
            raise ConfigError(table.key(key), f"must be a string matching {value_re.pattern}")
        pairs.append((key, value))
    return tuple(pairs)


def _crm_lookup(s: _Section) -> CrmLookupConfig:
    headers = _pairs(s, "headers", HEADER_VALUE_RE)
    from_env = _pairs(s, "headers_from_env", re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"))
    for i, (key, _value) in enumerate(headers + from_env):
        if not HEADER_NAME_RE.fullmatch(key):
            raise ConfigError(s.key("headers" if i < len(headers) else "headers_from_env"),
                              f"{key!r} is not a header name")
    options = s.table("options")
    options.seen.update(options.data)
    config = CrmLookupConfig(
        connector=s.text("connector", "", pattern=re.compile(r"^[A-Za-z0-9_.-]{1,64}$")),
        url_template=s.text("url_template", ""),
        headers=headers, headers_from_env=from_env,
        fields=_pairs(s, "fields", JSON_PATH_RE),
        title=s.text("title", "", pattern=JSON_PATH_RE),
        record_url=s.text("record_url", "", pattern=JSON_PATH_RE),
        timeout=s.number("timeout", 3.0, 0.1, 60.0),
        options=tuple(options.data.items()),
    )
    if config.connector == "http" and not config.url_template:
        raise ConfigError(s.key("url_template"), 'is required with connector = "http"')
    return config


def _wrapup(s: _Section) -> WrapupConfig:
    config = WrapupConfig(
        dispositions=s.texts("dispositions", WrapupConfig().dispositions, LABEL_RE),
        max_notes=s.integer("max_notes", 4000, 100, 65000),
    )
    if not config.dispositions:
        raise ConfigError(s.key("dispositions"), "needs at least one disposition")
    return config


def _sandbox_queue(s: _Section) -> SandboxQueueConfig:
    queue = SandboxQueueConfig(
        name=s.text("name", None, pattern=NAME_RE),
        strategy=s.text("strategy", "ringall", choices=STRATEGIES),
        ring_timeout=s.integer("ring_timeout", 15, 1, 600),
        retry=s.integer("retry", 2, 0, 600),
    )
    if queue.name is None:
        raise ConfigError(s.key("name"), "is required")
    return queue


def _sandbox(s: _Section) -> SandboxConfig:
    auto_answer = s.flag("auto_answer", True)  # false: agents answer through the control API
    after = s.number("auto_answer_after", 2.0, 0.0, 3600)
    return SandboxConfig(
        enabled=s.flag("enabled", False),
        ami_host=s.text("ami_host", "127.0.0.1", pattern=HOST_RE),
        ami_port=s.integer("ami_port", 5038, 0, 65535),
        auto_answer_after=after if auto_answer else None,
        queues=tuple(_read(q, _sandbox_queue) for q in s.tables("queues")),
        esl_host=s.text("esl_host", "127.0.0.1", pattern=HOST_RE),
        esl_port=s.integer("esl_port", 8021, 0, 65535),
        esl_password=s.text("esl_password", "ClueCon", pattern=re.compile(r"^[!-~]{1,128}$")),
        cdr_csv_dir=s.text("cdr_csv_dir", "", pattern=re.compile(r"^[^\x00-\x1f]{0,1024}$")),
    )


ICE_URL_RE = re.compile(r"^(stun|stuns|turn|turns):[A-Za-z0-9.:\[\]-]{1,255}"
                        r"(\?transport=(udp|tcp))?$")


def _ice_server(s: _Section) -> IceServerConfig:
    server = IceServerConfig(
        urls=s.texts("urls", (), ICE_URL_RE),
        username=s.text("username", "", pattern=re.compile(r"^[!-~]{1,128}$")),
        credential=s.text("credential", "", pattern=re.compile(r"^[!-~]{1,256}$")),
    )
    if not server.urls:
        raise ConfigError(s.key("urls"), "needs at least one stun: or turn: URL")
    return server


def _media(s: _Section) -> MediaConfig:
    return MediaConfig(
        ice_servers=tuple(_read(i, _ice_server) for i in s.tables("ice_servers")),
        turn_secret=s.text("turn_secret", "", pattern=re.compile(r"^[!-~]{8,256}$")),
        turn_ttl=s.integer("turn_ttl", 3600, 60, 86400),
        relay_only=s.flag("relay_only", False),
        agent_video=s.flag("agent_video", True),
        max_message_bytes=s.integer("max_message_bytes", 64 * 1024, 1024, 256 * 1024),
        video_codec=s.text("video_codec", "VP8", choices=("VP8", "H264")),
    )


def _reporting(s: _Section) -> ReportingConfig:
    s.seen.add("write_queue_log")
    mode = s.data.get("write_queue_log", "auto")
    if mode not in ("auto", True, False):
        raise ConfigError(s.key("write_queue_log"), 'must be "auto", true or false')
    config = ReportingConfig(
        enabled=s.flag("enabled", True),
        spool_dir=s.text("spool_dir", "var/reporting-spool",
                         pattern=re.compile(r"^[^\x00-\x1f]{1,1024}$")),
        queue_size=s.integer("queue_size", 10000, 100, 10_000_000),
        batch_size=s.integer("batch_size", 500, 1, 100_000),
        write_queue_log=mode if isinstance(mode, str) else str(mode).lower(),
        retry_min=s.number("retry_min", 0.5, 0.01, 3600),
        retry_max=s.number("retry_max", 30.0, 0.01, 86400),
        spool_max_mb=s.integer("spool_max_mb", 1024, 1, 1_048_576),
    )
    if config.retry_min > config.retry_max:
        raise ConfigError(s.key("retry_min"), "must not exceed retry_max")
    return config


def _recording(s: _Section) -> RecordingConfig:
    overrides = s.table("retention")
    retention = tuple((name, overrides.integer(name, 90, 0, 36500))
                      for name in sorted(overrides.data) if NAME_RE.fullmatch(str(name)))
    overrides.done()  # a queue name that is not a name is an unknown key
    return RecordingConfig(
        enabled=s.flag("enabled", False),
        directory=s.text("directory", "var/recordings",
                         pattern=re.compile(r"^[^\x00-\x1f]{1,1024}$")),
        retention_days=s.integer("retention_days", 90, 0, 36500),
        retention=retention,
        link_ttl=s.integer("link_ttl", 300, 10, 86400),
        min_free_mb=s.integer("min_free_mb", 200, 0, 10_000_000),
    )


def parse_config(data: Mapping[str, Any]) -> Config:
    root = _Section(data, "")
    categories = root.texts("categories", ("general",), NAME_RE)
    config = Config(
        server=_read(root.table("server"), _server),
        pbx=root.text("pbx", "asterisk", choices=("asterisk", "freeswitch")),
        asterisk=_read(root.table("asterisk"), _asterisk),
        audiosocket=_read(root.table("audiosocket"), _audiosocket),
        database=_read(root.table("database"), _database),
        categories=categories,
        routing=_read(root.table("routing"), lambda r: _routing(r, categories)),
        agents=tuple(_read(a, _agent) for a in root.tables("agents")),
        crm=_read(root.table("crm"), _crm),
        sandbox=_read(root.table("sandbox"), _sandbox),
        reports=_read(root.table("reports"), _reports),
        media=_read(root.table("media"), _media),
        reporting=_read(root.table("reporting"), _reporting),
        recording=_read(root.table("recording"), _recording),
        wrapup=_read(root.table("wrapup"), _wrapup),
        freeswitch=_read(root.table("freeswitch"), _freeswitch),
    )
    root.done()
    if config.server.agent_cookie_samesite == "None" \
            and not config.server.public_url.startswith("https://"):
        raise ConfigError("server.agent_cookie_samesite",
                          '"None" needs an https:// public_url (browsers drop insecure '
                          "SameSite=None cookies)")
    _check_references(config)
    return config


def _check_references(config: Config) -> None:
    names = [a.username for a in config.agents]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"agents[{i}].username", f"{name!r} is listed twice")
    if config.sandbox.enabled:
        known = {q.name for q in config.sandbox.queues}
        for i, agent in enumerate(config.agents):
            for queue in agent.queues:
                if queue not in known:
                    raise ConfigError(f"agents[{i}].queues", f"{queue!r} is not a sandbox queue")
        for queue in [config.routing.default_queue, *(r.queue for r in config.routing.rules)]:
            if queue not in known:
                raise ConfigError("routing", f"queue {queue!r} is not a sandbox queue")


def load_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    return parse_config(data)
