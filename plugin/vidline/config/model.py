"""The configuration's typed, frozen objects and the patterns their values
must match (also used by the modules that render them into PBX files)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
