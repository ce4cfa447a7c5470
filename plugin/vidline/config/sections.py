"""One reader per TOML section: validates the values and builds the objects."""

from __future__ import annotations

import re

from vidline.config.model import (
    HOST_RE,
    INTERFACE_RE,
    LABEL_RE,
    MEMBER_NAME_RE,
    NAME_RE,
    PASSWORD_HASH_RE,
    PERMIT_RE,
    SECRET_RE,
    STRATEGIES,
    AgentConfig,
    AsteriskConfig,
    AudioSocketConfig,
    ConfigError,
    CrmConfig,
    CrmLookupConfig,
    DatabaseConfig,
    FreeswitchConfig,
    IceServerConfig,
    MediaConfig,
    RecordingConfig,
    ReportingConfig,
    ReportsConfig,
    RoutingConfig,
    RoutingRule,
    SandboxConfig,
    SandboxQueueConfig,
    ServerConfig,
    WrapupConfig,
)
from vidline.config.reader import _read, _Section


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
