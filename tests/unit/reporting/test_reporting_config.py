"""The [reporting] section: defaults, write_queue_log's three values and
what "auto" means per PBX, and exact errors."""

from __future__ import annotations

import pytest

from vidline.config import ConfigError, parse_config


def test_defaults_write_queue_log_only_for_freeswitch() -> None:
    config = parse_config({})
    assert (config.reporting.enabled, config.reporting.spool_dir) == (True, "var/reporting-spool")
    assert not config.reporting.writes_queue_log("asterisk")
    assert config.reporting.writes_queue_log("freeswitch")


@pytest.mark.parametrize(("value", "asterisk", "freeswitch"), [
    ("auto", False, True), (True, True, True), (False, False, False)])
def test_write_queue_log_values(value: object, asterisk: bool, freeswitch: bool) -> None:
    reporting = parse_config({"reporting": {"write_queue_log": value}}).reporting
    assert (reporting.writes_queue_log("asterisk"),
            reporting.writes_queue_log("freeswitch")) == (asterisk, freeswitch)


@pytest.mark.parametrize(("section", "message"), [
    ({"write_queue_log": "yes"}, 'config key reporting.write_queue_log: must be "auto", '
                                 "true or false"),
    ({"queue_size": 10}, "config key reporting.queue_size: 10 is outside 100..10000000"),
    ({"retry_min": 5, "retry_max": 1}, "config key reporting.retry_min: must not exceed "
                                       "retry_max"),
    ({"spool": "x"}, "config key reporting.spool: unknown key"),
])
def test_errors(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"reporting": section})
    assert str(info.value) == message
