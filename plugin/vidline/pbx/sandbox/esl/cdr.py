"""mod_cdr_csv: one line per leg (``legs = ab``) when the channel is
destroyed, from a template of ``${var}`` fields, quoted with ``"`` (the lab's
cdr_csv.conf.xml template "vidline"; shared/freeswitch/cdr_csv_Master.csv).

The line is written as FreeSWITCH writes it: a value is not escaped, so a
variable holding a newline breaks the record (FINDINGS C6); that is what the
adapter's encoding must prevent, and the sandbox shows it rather than hides it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vidline.pbx.sandbox.esl.fschannels import FsChannel

log = logging.getLogger(__name__)

# shared/freeswitch/conf/autoload_configs/cdr_csv.conf.xml, template "vidline"
LAB_TEMPLATE = ('"${uuid}","${call_uuid}","${channel_name}","${caller_id_number}",'
                '"${destination_number}","${start_stamp}","${answer_stamp}","${end_stamp}",'
                '"${billsec}","${hangup_cause}","${cc_queue}","${cc_cause}",'
                '"${cc_cancel_reason}","${cc_agent}","${vidline_session}",'
                '"${vidline_customer_id}","${vidline_category}","${vidline_note}"')


def render(template: str, ch: FsChannel) -> str:
    values = dict(ch.vars)
    values.setdefault("caller_id_number", ch.cid_num)
    values.setdefault("caller_id_name", ch.cid_name)
    values.setdefault("destination_number", ch.destination)
    values.setdefault("channel_name", ch.name)
    view = FsChannel(ch.name, ch.uuid, ch.direction, ch.destination, vars=values)
    return view.expand(template)


class CdrCsv:
    """Lines are rendered on the loop (the channel is at hand) and appended
    to the file by one thread, in order (file I/O never on the loop)."""

    def __init__(self, directory: str, template: str = LAB_TEMPLATE) -> None:
        self.directory = directory
        self.template = template
        self.lines: list[str] = []
        self._pool = ThreadPoolExecutor(1, "sandbox-cdr-csv") if directory else None

    def write(self, ch: FsChannel) -> None:
        line = render(self.template, ch)
        self.lines.append(line)
        if self._pool is not None:
            self._pool.submit(self._append, line)

    async def flush(self) -> None:
        """Until every line written so far is in the file."""
        if self._pool is not None:
            await asyncio.wrap_future(self._pool.submit(lambda: None))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _append(self, line: str) -> None:
        try:
            path = Path(self.directory)
            path.mkdir(parents=True, exist_ok=True)
            # one small append per hangup, like mod_cdr_csv's own write(2)
            fd = os.open(path / "Master.csv", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (line + "\n").encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except OSError:
            log.exception("sandbox esl: writing the CDR line failed")
