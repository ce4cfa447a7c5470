"""A vidline with recording on, in its own process, for the SIGKILL test:
``python -m tests.browser.recording_server RECORDINGS_DIR DB_FILE`` prints
one JSON line with its URLs, then serves until killed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.browser.recording_media import recording_config
from tests.conftest import make_config


async def main(directory: Path, db: Path) -> None:
    from vidline.app import start

    config = recording_config(make_config(f"sqlite:///{db}", auto_answer=0.5), directory)
    runtime = await start(config)
    print(json.dumps({"base": runtime.base_url, "customer": runtime.customer_url,
                      "agent": runtime.agent_url}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
