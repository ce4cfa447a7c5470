"""The recording clock, signed links, the access rule, retention and the
``vidline recordings prune`` command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from vidline.cli import main
from vidline.config import ConfigError, parse_config
from vidline.recording import catalog
from vidline.recording.access import AuditLog, Signer, may_see
from vidline.recording.clock import StreamClock

IDS = ["0f8fad5b-d9cb-469f-a165-70867728950e", "1f8fad5b-d9cb-469f-a165-70867728950e",
       "2f8fad5b-d9cb-469f-a165-70867728950e", "3f8fad5b-d9cb-469f-a165-70867728950e"]
DAY = 86400.0


def test_stream_clock_follows_the_least_delayed_packet_and_wraps() -> None:
    clock = StreamClock(90000)
    assert clock.map(0xFFFFF000, 100.0) == 100.0
    # 1/30 s later in RTP (wrapping past 2^32), arrived 10 ms late: the RTP time wins
    assert clock.map((0xFFFFF000 + 3000) & 0xFFFFFFFF, 100.0433) == pytest.approx(100.0333)
    # a packet that came through faster than the first moves the anchor back
    assert clock.map(0xFFFFF000 + 6000 - 2**32, 100.0600) == pytest.approx(100.0600)
    assert clock.map(0xFFFFF000 + 9000 - 2**32, 100.1) == pytest.approx(100.0933, abs=1e-4)


def test_stream_clock_takes_a_new_anchor_after_a_jump_and_subtracts_the_hold() -> None:
    clock = StreamClock(48000)
    clock.map(1000, 50.0, hold=0.08)
    assert clock.map(123_456_789, 52.0, hold=0.08) == pytest.approx(51.92)  # a new stream
    assert clock.reanchored == 1


def test_signed_links_are_per_user_file_and_time() -> None:
    now = [1000.0]
    signer = Signer("k" * 32, 60, clock=lambda: now[0])
    query = signer.sign("alice", "agent", IDS[0], "customer-camera.webm")
    assert signer.check(query, IDS[0], "customer-camera.webm") == ("alice", "agent")
    assert signer.check(query, IDS[0], "agent-camera.webm") == "the link's signature is wrong"
    assert signer.check(query, IDS[1], "customer-camera.webm") == "the link's signature is wrong"
    assert signer.check({**query, "r": "supervisor"}, IDS[0], "customer-camera.webm") \
        == "the link's signature is wrong"
    assert signer.check({}, IDS[0], "x") == "the link is not signed"
    now[0] += 61
    assert signer.check(query, IDS[0], "customer-camera.webm") == "the link has expired"
    other = Signer("j" * 32, 60, clock=lambda: 1000.0)
    assert other.check(query, IDS[0], "customer-camera.webm") != ("alice", "agent")


def test_agents_see_their_own_supervisors_all() -> None:
    assert may_see("alice", "agent", "alice")
    assert not may_see("bob", "agent", "alice")
    assert not may_see("bob", "agent", None)
    assert may_see("sue", "supervisor", "alice")


def test_audit_rows_in_sqlite(tmp_path: Path) -> None:
    audit = AuditLog(f"sqlite:///{tmp_path}/a.db")
    audit.write("alice", "agent", IDS[0], "play", None, "127.0.0.1")
    audit.write("sue", "supervisor", IDS[0], "download", "*.zip", "127.0.0.1")
    assert audit.rows(IDS[0]) == [("alice", "agent", "play", None),
                                  ("sue", "supervisor", "download", "*.zip")]
    audit.close()


def make_set(root: Path, iid: str, queue: str, ended_days_ago: float, now: float) -> Path:
    ended = now - ended_days_ago * DAY
    directory = root / time.strftime("%Y/%m/%d", time.gmtime(ended)) / iid
    directory.mkdir(parents=True)
    (directory / "recording.json").write_text(json.dumps(
        {"queue": queue, "started_at": ended - 60, "ended_at": ended, "agent": "alice"}))
    (directory / "customer-camera.webm").write_bytes(b"x")
    return directory


def test_prune_per_queue(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    config = parse_config({"recording": {"directory": str(tmp_path), "retention_days": 30,
                                         "retention": {"vip": 365, "legal": 0}}}).recording
    old_support = make_set(tmp_path, IDS[0], "support", 31, now)
    old_vip = make_set(tmp_path, IDS[1], "vip", 40, now)
    ancient_legal = make_set(tmp_path, IDS[2], "legal", 3000, now)
    assert catalog.prune(tmp_path, config.retention_of, now=now, dry_run=True) == [old_support]
    assert old_support.exists()
    assert catalog.prune(tmp_path, config.retention_of, now=now) == [old_support]
    assert not old_support.exists() and not old_support.parent.exists()  # empty day gone
    assert old_vip.exists() and ancient_legal.exists()
    found = catalog.find(tmp_path, IDS[1])
    assert found is not None and found.agent == "alice"
    assert found.files() == ["customer-camera.webm", "recording.json"]
    assert found.file("../x") is None and found.file("snips/../../x") is None
    assert catalog.find(tmp_path, "../../etc") is None


def test_prune_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "rec"
    make_set(root, IDS[0], "support", 100, time.time())
    make_set(root, IDS[1], "support", 1, time.time())
    config = tmp_path / "v.toml"
    config.write_text(f'[recording]\ndirectory = "{root}"\nretention_days = 90\n')
    assert main(["recordings", "prune", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert IDS[0] in out and IDS[1] not in out and "1 recording set(s) deleted" in out


def test_recording_config_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"recording\.retention\.vip"):
        parse_config({"recording": {"retention": {"vip": -1}}})
    with pytest.raises(ConfigError, match=r"recording\.link_ttl"):
        parse_config({"recording": {"link_ttl": 1}})
    with pytest.raises(ConfigError, match=r"recording\.bogus"):
        parse_config({"recording": {"bogus": 1}})
    assert parse_config({}).recording.enabled is False


def make_snips(root: Path, iid: str, queue: str | None, days_ago: float, now: float) -> Path:
    """Snips saved with recording off: no manifest, a meta naming the queue."""
    directory = root / time.strftime("%Y/%m/%d", time.gmtime(now - days_ago * DAY)) / iid
    snips = directory / "snips"
    snips.mkdir(parents=True)
    (snips / "20261127T101500Z-ab12cd34-video.png").write_bytes(b"png")
    if queue is not None:
        (snips / "meta.json").write_text(json.dumps({"queue": queue}))
    for path in snips.iterdir():
        os.utime(path, (now - days_ago * DAY, now - days_ago * DAY))
    return directory


def test_prune_takes_snips_without_a_recording_by_their_queue(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    config = parse_config({"recording": {"directory": str(tmp_path), "retention_days": 30,
                                         "retention": {"legal": 0}}}).recording
    old = make_snips(tmp_path, IDS[0], "support", 31, now)
    young = make_snips(tmp_path, IDS[1], "support", 5, now)
    legal = make_snips(tmp_path, IDS[2], "legal", 3000, now)
    unknown = make_snips(tmp_path, IDS[3], None, 3000, now)  # no meta: retention unknown
    assert catalog.prune(tmp_path, config.retention_of, now=now) == [old]
    assert not old.exists() and young.exists() and legal.exists() and unknown.exists()
