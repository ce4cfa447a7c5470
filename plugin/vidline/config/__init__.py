"""vidline's configuration: one TOML file, loaded once into frozen typed objects.

Nothing reads configuration at import time: the composition root loads it
with :func:`load_config` and passes the parts to whoever needs them. A bad
file raises :class:`ConfigError` naming the key (``routing.rules[2].queue``)
and what is wrong with it.
"""

from __future__ import annotations

from vidline.config.load import load_config, parse_config
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
    Config,
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

__all__ = [
    "HOST_RE",
    "INTERFACE_RE",
    "LABEL_RE",
    "MEMBER_NAME_RE",
    "NAME_RE",
    "PASSWORD_HASH_RE",
    "PERMIT_RE",
    "SECRET_RE",
    "STRATEGIES",
    "AgentConfig",
    "AsteriskConfig",
    "AudioSocketConfig",
    "Config",
    "ConfigError",
    "CrmConfig",
    "CrmLookupConfig",
    "DatabaseConfig",
    "FreeswitchConfig",
    "IceServerConfig",
    "MediaConfig",
    "RecordingConfig",
    "ReportingConfig",
    "ReportsConfig",
    "RoutingConfig",
    "RoutingRule",
    "SandboxConfig",
    "SandboxQueueConfig",
    "ServerConfig",
    "WrapupConfig",
    "load_config",
    "parse_config",
]
