"""Passwords, directory, login throttle, sessions, rate limiter."""

from __future__ import annotations

import base64
import hashlib

import pytest

from vidline.agents.directory import AgentDirectory
from vidline.agents.passwords import hash_password, parse_hash, verify_password
from vidline.agents.sessions import LoginThrottle, SessionStore
from vidline.config import AgentConfig
from vidline.web.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hash_format_and_verify() -> None:
    encoded = hash_password("correct horse")
    kind, n, r, p, salt, digest = encoded.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    # the format is plain scrypt: anyone can check it with hashlib alone
    assert base64.b64decode(digest) == hashlib.scrypt(
        b"correct horse", salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32)
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded)
    assert hash_password("x") != hash_password("x")  # salted


@pytest.mark.parametrize("bad", [
    "", "scrypt", "bcrypt$1$2$3$a$b", "scrypt$16384$8$1$!!$AAAA",
    "scrypt$16383$8$1$c2FsdHNhbHQ=$" + "A" * 44,  # n not a power of two
    "scrypt$4194304$8$1$c2FsdHNhbHQ=$" + "A" * 44,  # n too large: a memory bomb
    "scrypt$16384$8$1$c2FsdA==$" + "A" * 44,  # salt too short
])
def test_malformed_hash_never_verifies(bad: str) -> None:
    assert not verify_password("anything", bad)


def test_parse_hash_round_trip() -> None:
    n, r, p, salt, digest = parse_hash(hash_password("pw", n=1024))
    assert (n, r, p, len(salt), len(digest)) == (1024, 8, 1, 16, 32)


def test_directory_lookups() -> None:
    agents = AgentDirectory((AgentConfig("alice", "scrypt$x", "PJSIP/1001", "Agent Alice",
                                         ("support",)),))
    alice = agents.by_username("alice")
    assert alice is not None and alice.member_name == "Agent Alice"
    assert agents.by_interface("PJSIP/1001") is alice
    assert agents.by_interface("pjsip/1001") is alice
    assert agents.by_interface("PJSIP/1002") is None
    assert agents.by_username("Alice") is None
    assert [a.username for a in agents] == ["alice"] and len(agents) == 1


def test_username_lockout_after_five_failures_for_five_minutes() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
    assert throttle.locked_for("alice", "10.0.0.1") == 0
    throttle.failed("alice", "10.0.0.2")
    # locked whoever tries, from any address
    assert throttle.locked_for("alice", "10.0.0.9") == pytest.approx(300)
    assert throttle.locked_for("bob", "10.0.0.9") == 0
    clock.now += 299
    assert throttle.locked_for("alice", "10.0.0.9") == pytest.approx(1)
    clock.now += 2
    assert throttle.locked_for("alice", "10.0.0.9") == 0
    throttle.failed("alice", "10.0.0.1")  # a fresh count after the lockout
    assert throttle.locked_for("alice", "10.0.0.1") == 0


def test_client_lockout_across_usernames_and_old_failures_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for i in range(20):
        throttle.failed(f"user{i}", "10.0.0.1")
    assert throttle.locked_for("nobody", "10.0.0.1") > 0
    assert throttle.locked_for("nobody", "10.0.0.2") == 0
    for _ in range(4):
        throttle.failed("carol", "10.0.0.3")
    clock.now += 901
    throttle.failed("carol", "10.0.0.3")
    assert throttle.locked_for("carol", "10.0.0.4") == 0


def test_success_resets_the_username_count() -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        throttle.failed("alice", "a")
    throttle.succeeded("alice")
    throttle.failed("alice", "a")
    assert throttle.locked_for("alice", "b") == 0


def test_sessions_expire_and_are_bounded() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, max_sessions=3, clock=clock)
    first = store.create("alice")
    assert store.get(first.id) is first and len(first.id) >= 43
    assert first.csrf_ok(first.csrf_token) and not first.csrf_ok("x") and not first.csrf_ok(None)
    for _ in range(3):
        store.create("bob")
    assert store.get(first.id) is None  # evicted, oldest first
    newest = store.create("carol")
    clock.now += 61
    assert store.get(newest.id) is None
    assert store.get(None) is None and store.get("x" * 1000) is None


def test_rate_limiter_bucket_refills_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(3, max_clients=2, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("a")
    assert wait == pytest.approx(20.0)  # 3 per minute: one token every 20 s
    assert limiter.retry_after(wait) == "20"
    clock.now += 20
    assert limiter.take("a") == 0
    limiter.take("b")
    limiter.take("c")
    assert len(limiter) == 2  # "a" was dropped: at most max_clients buckets
