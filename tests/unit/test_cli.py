"""The `vidline` console script, run as a user runs it: in a subprocess,
looking at its exit status, stdout, stderr and the files and rows it leaves."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import mariadb_rows
from vidline.config import load_config
from vidline.dialplan_render import FILES, render_asterisk

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "vidline.example.toml"
SCRIPT = Path(sys.executable).parent / "vidline"


def vidline(*args: str, cwd: Path | None = None, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "vidline.cli"]
    return subprocess.run([*command, *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=timeout, check=False)


def write(tmp_path: Path, text: str, name: str = "vidline.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("[server]\nport = \"eighty\"\n", "config key server.port: must be an integer"),
    ("[server]\nport = 70000\n", "config key server.port: 70000 is outside 0..65535"),
    ("[server]\nprot = 8080\n", "config key server.prot: unknown key"),
    ("[asterisk]\nsecret = \"a;b\"\n", "config key asterisk.secret: "),
    ("[routing]\ndefault_queue = \"sup port\"\n", "config key routing.default_queue: "),
    ("categories = [\"billing\"]\n[[routing.rules]]\ncategory = \"sales\"\nqueue = \"s\"\n",
     "config key routing.rules[0].category: 'sales' is not in categories"),
    ("[database]\nurl = \"postgres://x/y\"\n", "config key database.url: "),
    ("[crm]\nurl_template = \"https://crm/{{ phone \"\n", "config key crm.url_template: "),
    ("server = [\n", "is not valid TOML"),
])
def test_bad_config_names_the_key_and_exits_2(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    result = vidline("check-config", "--config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("vidline: config key ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback


@pytest.mark.parametrize("command", [["serve"], ["dialplan"], ["db", "init"], ["demo"]])
def test_every_config_command_refuses_a_bad_file(tmp_path: Path, command: list[str]) -> None:
    path = write(tmp_path, "[sandbox]\nenabled = \"yes\"\n")
    result = vidline(*command, "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "vidline: config key sandbox.enabled: must be true or false\n"


def test_missing_file_and_bad_command_line(tmp_path: Path) -> None:
    result = vidline("check-config", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: cannot be read" in result.stderr
    result = vidline("frobnicate")
    assert result.returncode == 2 and "usage: vidline" in result.stderr
    result = vidline()
    assert result.returncode == 2 and "usage: vidline" in result.stderr


def test_check_config_accepts_the_example() -> None:
    result = vidline("check-config", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{EXAMPLE}: ok (pbx asterisk, 2 agents, 4 routing rules)\n"


def test_dialplan_prints_and_writes_the_rendered_files(tmp_path: Path) -> None:
    expected = render_asterisk(load_config(EXAMPLE))
    printed = vidline("dialplan", "--config", str(EXAMPLE))
    assert printed.returncode == 0, printed.stderr
    for name in FILES:
        assert f";;; ---- {name} ----\n{expected[name]}" in printed.stdout
    out = tmp_path / "asterisk"
    written = vidline("dialplan", "--config", str(EXAMPLE), "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (out / name).read_text() == expected[name]
    assert "[vidline-inbound]" in (out / "extensions_vidline.conf").read_text()
    # the AMI secret is not world-readable
    assert (out / "manager_vidline.conf").stat().st_mode & 0o777 == 0o600


def test_demo_refuses_a_config_without_the_sandbox(tmp_path: Path) -> None:
    result = vidline("demo", "--config", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "vidline: config key sandbox.enabled: must be true for the demo\n"


DB_INIT_OUTPUT = ("cdr: 31 columns\nqueue_log: 11 columns\nvidline_interactions: 29 columns\n"
                  "vidline_interaction_events: 6 columns\nvidline_queue_log_keys: 2 columns\n")


def test_db_init_on_sqlite_twice(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///var/report.db"\n')
    for action in ("init", "upgrade"):
        result = vidline("db", action, "--config", str(path), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == DB_INIT_OUTPUT
    with sqlite3.connect(tmp_path / "var" / "report.db") as conn:
        names = [row[1] for row in conn.execute("PRAGMA table_info(cdr)")]
    assert names[-9:] == ["vidline_session", "vidline_customer_id", "vidline_phone",
                          "vidline_category", "vidline_page_url", "vidline_kiosk",
                          "vidline_queue", "vidline_recording", "vidline_media"]


@pytest.mark.mariadb
def test_db_init_on_mariadb(tmp_path: Path, mariadb_url: str) -> None:
    path = write(tmp_path, f'[database]\nurl = "{mariadb_url}"\n')
    result = vidline("db", "init", "--config", str(path))
    assert result.returncode == 0, result.stderr
    rows = mariadb_rows(mariadb_url, "SELECT table_name AS t, COUNT(*) AS n FROM "
                        "information_schema.columns WHERE table_schema = DATABASE() "
                        "GROUP BY table_name ORDER BY table_name")
    assert sorted((r["t"], r["n"]) for r in rows) == [
        ("cdr", 31), ("queue_log", 11), ("vidline_interaction_events", 6),
        ("vidline_interactions", 29), ("vidline_queue_log_keys", 2)]


def test_db_init_reports_an_unreachable_database_without_its_password(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "mysql://root:hunter2@127.0.0.1:1/x"\n')
    result = vidline("db", "init", "--config", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("vidline: database mysql://root:***@127.0.0.1:1/x: ")
    assert "hunter2" not in result.stderr + result.stdout


def test_passwd_prints_a_scrypt_hash_of_what_was_typed_twice() -> None:
    result = vidline("passwd", stdin="correct horse\ncorrect horse\n")
    assert result.returncode == 0, result.stderr
    encoded = result.stdout.strip().splitlines()[-1]
    kind, n, r, p, salt, digest = encoded.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    assert base64.b64decode(digest) == hashlib.scrypt(
        b"correct horse", salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32)
    assert "correct horse" not in result.stdout
    mismatch = vidline("passwd", stdin="one\ntwo\n")
    assert mismatch.returncode == 1
    assert "the two passwords differ" in mismatch.stderr
    assert "scrypt$" not in mismatch.stdout


def test_demo_starts_prints_both_pages_and_serves_them(tmp_path: Path) -> None:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "vidline.cli"]
    proc = subprocess.Popen([*command, "demo", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("agent panel" in x for x in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        urls = {x.split(":", 1)[0].strip(): x.split(":", 1)[1].strip()
                for x in lines if x.startswith("  ") and "http" in x}
        assert set(urls) >= {"customer page", "agent panel"}, lines
        for url in (urls["customer page"], urls["agent panel"]):
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                assert b"<html" in response.read().lower()
        # the demo's SQLite database lives under ./var/ of where it was started
        assert (tmp_path / "var" / "vidline-demo.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
