"""The agents vidline knows, from ``[[agents]]`` in the config."""

from __future__ import annotations

from collections.abc import Iterator

from vidline.config import AgentConfig


class AgentDirectory:
    """Lookups by panel username and by PBX queue-member interface.

    Interfaces compare with the technology part case-folded: Asterisk reports
    ``PJSIP/1001`` but configs are sometimes written ``pjsip/1001``; the
    resource part (an endpoint name) stays case-sensitive as in Asterisk.
    """

    def __init__(self, agents: tuple[AgentConfig, ...]) -> None:
        self._by_username = {a.username: a for a in agents}
        self._by_interface = {_interface_key(a.interface): a for a in agents}

    def by_username(self, username: str) -> AgentConfig | None:
        return self._by_username.get(username)

    def by_interface(self, interface: str) -> AgentConfig | None:
        return self._by_interface.get(_interface_key(interface))

    def __iter__(self) -> Iterator[AgentConfig]:
        return iter(self._by_username.values())

    def __len__(self) -> int:
        return len(self._by_username)


def _interface_key(interface: str) -> str:
    tech, sep, resource = interface.partition("/")
    return f"{tech.casefold()}{sep}{resource}"
