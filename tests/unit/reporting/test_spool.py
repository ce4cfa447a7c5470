"""The durable spool: order kept, a torn last record after a crash dropped,
a damaged record skipped, one process at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidline.reporting.spool import (
    FILE_NAME,
    Spool,
    SpoolFull,
    SpoolLocked,
    decode_line,
    encode_line,
)


def items(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"t": "e", "n": i, "text": "é|,\n"} for i in range(start, start + n)]


def read_all(spool: Spool) -> list[dict[str, object]]:
    got, offset = spool.read(10_000)
    spool.read_offset = offset
    return got


def test_round_trip_in_order_and_reopened(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(items(3))
    spool.append(items(2, 3))
    spool.close()
    again = Spool(tmp_path)
    assert again.pending
    assert read_all(again) == items(5)


def test_a_torn_last_record_is_dropped_and_appends_go_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(items(2))
    spool.close()
    line = encode_line(items(1, 2)[0])
    with open(tmp_path / FILE_NAME, "ab") as handle:
        handle.write(line[: len(line) // 2])  # the crash came mid-write
    again = Spool(tmp_path)
    again.append(items(1, 9))
    assert read_all(again) == items(2) + items(1, 9)


def test_a_damaged_record_in_the_middle_is_skipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(items(3))
    spool.close()
    data = (tmp_path / FILE_NAME).read_bytes().split(b"\n")
    data[1] = data[1].replace(b'"n":1', b'"n":7')  # checksum no longer matches
    (tmp_path / FILE_NAME).write_bytes(b"\n".join(data))
    assert read_all(Spool(tmp_path)) == [items(3)[0], items(3)[2]]


def test_advance_to_the_end_empties_the_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(items(4))
    got, offset = spool.read(2)
    assert got == items(2)
    spool.advance(offset)
    assert spool.pending and (tmp_path / FILE_NAME).stat().st_size > 0
    got, offset = spool.read(10)
    assert got == items(2, 2)
    spool.advance(offset)
    assert not spool.pending and (tmp_path / FILE_NAME).stat().st_size == 0


def test_two_processes_cannot_share_a_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    with pytest.raises(SpoolLocked):
        Spool(tmp_path)
    first.close()
    Spool(tmp_path).close()


def test_line_checksum() -> None:
    line = encode_line({"a": 1})
    assert decode_line(line[:-1]) == {"a": 1}
    assert decode_line(line[:-2]) is None
    assert decode_line(b"zzzzzzzz {}") is None


def test_a_batch_over_the_cap_is_refused_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=200)
    spool.append(items(2))
    before = spool.size
    with pytest.raises(SpoolFull, match="the cap is 200"):
        spool.append(items(5, 2))
    assert spool.size == before == (tmp_path / FILE_NAME).stat().st_size
    assert read_all(spool) == items(2)


_WRITE_PAST_THE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from vidline.reporting.spool import Spool, SpoolFull
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
spool = Spool(Path(sys.argv[1]))
spool.append([{"n": 0}])
resource.setrlimit(resource.RLIMIT_FSIZE, (spool.size + 50, spool.size + 50))
try:
    spool.append([{"n": i, "pad": "x" * 40} for i in range(1, 4)])
except SpoolFull as exc:
    print("full:", exc)
"""


def test_a_write_the_disk_refuses_leaves_whole_lines(tmp_path: Path) -> None:
    # a real short write: the file size limit makes the kernel refuse the
    # batch part-way (EFBIG), as a full disk does with ENOSPC
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _WRITE_PAST_THE_LIMIT, str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("full: ")
    again = Spool(tmp_path)
    assert read_all(again) == [{"n": 0}]
    assert (tmp_path / FILE_NAME).read_bytes().endswith(b"\n")
