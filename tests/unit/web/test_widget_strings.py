"""The widget's string catalogue: every text the script uses is in the English
catalogue, every translation matches it, and the server picks a language
from the browser's list without letting the request name a file."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vidline.web.app import _load_static
from vidline.web.customer import widget_language

STATIC = resources.files("vidline.widget").joinpath("static")
# the widget's sources (esbuild bundles them into static/vidline.js)
SOURCES = Path(__file__).resolve().parents[3] / "frontend" / "src" / "widget"
SCRIPT = "\n".join(f.read_text(encoding="utf-8") for f in sorted(SOURCES.glob("*.js")))
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def english() -> dict[str, str]:
    block = SCRIPT.split("/* STRINGS-BEGIN */", 1)[1].split("/* STRINGS-END */", 1)[0]
    catalogue: dict[str, str] = json.loads(block)
    return catalogue


def translations() -> dict[str, dict[str, Any]]:
    folder = STATIC.joinpath("strings")
    return {f.name[:-5]: json.loads(f.read_text(encoding="utf-8"))
            for f in folder.iterdir() if f.name.endswith(".json")}


def test_the_bundle_is_built_from_the_sources() -> None:
    bundle = STATIC.joinpath("vidline.js").read_text(encoding="utf-8")
    assert bundle.startswith("/* vidline customer widget")  # the header for integrators
    assert all(f'"{key}"' in bundle for key in english())


def test_every_key_the_script_uses_is_in_the_catalogue() -> None:
    en = english()
    used = set(re.findall(r"\bt\(\"([\w.]+)\"[,)]", SCRIPT))
    used |= set(re.findall(r"\bbutton\(\"[\w-]+\", \"(\w+)\"", SCRIPT))
    used |= set(re.findall(r"\bfield\(ui\.\w+, \"(\w+)\"\)", SCRIPT))
    assert used, "the patterns above no longer match the script"
    assert sorted(used - set(en)) == []
    # keys built at run time: one per device problem, field and end reason
    for problem in ("Denied", "Nodevice", "Busy", "Insecure", "Failed"):
        assert f"problem{problem}" in en and f"help{problem}" in en
    for name in ("customer_id", "phone", "category", "page_url", "kiosk_location", "extra",
                 "body"):
        assert f"field.{name}" in en
    for reason in ("customer_left", "agent_left", "abandoned", "queue_timeout", "failed",
                   "pbx_lost"):
        assert f"ended.{reason}" in en


@pytest.mark.parametrize("lang", sorted(translations()))
def test_translations_match_the_english_catalogue(lang: str) -> None:
    en = english()
    strings = translations()[lang]
    assert all(isinstance(v, str) and v.strip() for v in strings.values())
    unknown = [k for k in strings if k not in en and not k.startswith("category.")]
    assert unknown == []
    missing = sorted(set(en) - set(strings))
    assert missing == []  # a partial file works (English fills in) but ships complete
    for key, text in strings.items():
        if key in en:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(en[key])), key


def test_language_choice() -> None:
    static = _load_static()
    assert "widget/strings/de.json" in static  # shipped in the package
    lang, strings = widget_language(static, "de-AT,de;q=0.9,en")
    assert lang == "de" and strings["submit"] == "Video-Chat starten"
    assert widget_language(static, "fr-CA,en-GB,de")[0] == "en"  # English is a real choice
    assert widget_language(static, "pt-BR,ja") == ("en", {})
    for hostile in ("../../../etc/passwd", "de/../../x", "x" * 5000, "", ",,,", "DE%2e"):
        assert widget_language(static, hostile)[0] in ("en",), hostile
