import pytest

from vidline.pbx.base import PbxError, check_cdr_field

IID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_vidlines_own_values_pass() -> None:
    check_cdr_field("vidline_recording", f"2026/11/27/{IID}")
    check_cdr_field("vidline_media", "video,screen".replace(",", ":"))


@pytest.mark.parametrize("name, value", [
    ("vidline_recording", "x\r\nAction: Originate"),
    ("vidline_recording", "a,b"),
    ("vidline_recording", "${SHELL(id)}"),
    ("vidline_recording", "x" * 256),
    ("vidline_phone", "1"),  # the dialplan's column, not one set during the call
    ("CDR(userfield)", "1"),
])
def test_anything_else_is_refused_before_the_pbx(name: str, value: str) -> None:
    with pytest.raises(PbxError):
        check_cdr_field(name, value)
