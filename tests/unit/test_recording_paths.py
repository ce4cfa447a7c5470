from pathlib import Path

import pytest

from vidline.recording.paths import interaction_dir, snips_dir

IID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_layout_is_utc_date_then_id() -> None:
    # 2026-11-27 23:30 UTC: still the 27th, whatever the local zone
    at = 1795822200.0
    assert interaction_dir(Path("/r"), IID, at) == Path("/r/2026/11/27") / IID
    assert snips_dir(Path("/r"), IID, at) == Path("/r/2026/11/27") / IID / "snips"


@pytest.mark.parametrize("bad", ["../etc", "", IID + "/x", IID.upper(), "a" * 36])
def test_only_interaction_ids_become_paths(bad: str) -> None:
    with pytest.raises(ValueError):
        interaction_dir(Path("/r"), bad, 0.0)
