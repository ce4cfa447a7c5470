"""The wheel built from the repo holds what a pip-installed vidline needs:
the agent panel, the customer widget, the dialplan templates and the demo
config, and every package under plugin/vidline (setup.cfg lists them by hand
because agent_panel/ and dialplan/ live outside plugin/)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugin" / "vidline"
# what setup.cfg reads: copying it keeps build/ and egg-info out of the repo
# (other test runs may be reading it at the same time)
INPUTS = ["setup.cfg", "pyproject.toml", "README.md", "plugin", "agent_panel", "dialplan"]


def _packages() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    return [p.strip() for p in parser["options"]["packages"].splitlines() if p.strip()]


def test_every_package_dir_is_listed_in_setup_cfg() -> None:
    on_disk = {
        ".".join(("vidline", *init.parent.relative_to(PLUGIN).parts))
        for init in PLUGIN.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = set(_packages())
    assert on_disk - listed == set(), "add these to setup.cfg [options] packages"
    # and nothing listed that does not exist
    outside = {"vidline.agent_panel": REPO / "agent_panel", "vidline.dialplan": REPO / "dialplan"}
    for name in listed:
        where = outside.get(name, PLUGIN.joinpath(*name.split(".")[1:]))
        assert (where / "__init__.py").exists(), name


def _build(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        # an isolated build fetches setuptools from the package index; without
        # network, build with the setuptools of this environment instead
        result = subprocess.run([*command, "--no-isolation"], capture_output=True, text=True,
                                timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = dist.glob("vidline-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("wheel"))


def test_wheel_contains_panel_widget_dialplan_and_demo(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "vidline/demo.toml",
        "vidline/dialplan/asterisk/extensions_vidline.conf.j2",
        "vidline/dialplan/asterisk/manager_vidline.conf.j2",
        "vidline/dialplan/asterisk/queues_vidline.conf.j2",
        "vidline/dialplan/asterisk/cdr_adaptive_odbc_vidline.conf.j2",
        "vidline/dialplan/asterisk/modules_vidline.conf.j2",
    }
    for folder, prefix in ((REPO / "agent_panel", "vidline/agent_panel"),
                           (PLUGIN / "widget" / "static", "vidline/widget/static")):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".html", ".js", ".css"):
                expected.add(f"{prefix}/{path.relative_to(folder).as_posix()}")
    assert any(n.startswith("vidline/agent_panel/templates/") for n in expected)
    assert any(n.startswith("vidline/agent_panel/static/") for n in expected)
    assert "vidline/widget/static/vidline.js" in expected
    # the co-browsing bundles scripts/setup.sh builds with npm (git-ignored)
    assert {"vidline/widget/static/cobrowse.js", "vidline/agent_panel/static/cobrowse.js",
            "vidline/agent_panel/static/cobrowse.css"} <= expected
    assert expected - names == set()
    # the widget is the bundle esbuild builds from frontend/src/widget/, its header first
    widget = zipfile.ZipFile(wheel).read("vidline/widget/static/vidline.js").decode()
    assert widget.startswith("/* vidline customer widget") and "window.Vidline = api" in widget
    modules = {f"vidline/{p.relative_to(PLUGIN).as_posix()}" for p in PLUGIN.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules - names == set()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "vidline = vidline.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_renders_the_dialplan_and_loads_the_demo(
        wheel: Path, tmp_path: Path) -> None:
    """Unpacked on its own (as site-packages would hold it), the wheel finds
    its templates and demo config through the package, not the repo."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import vidline, vidline.dialplan_render as d, vidline.cli as c;"
        "print(vidline.__file__);"
        "files = d.render_asterisk(c.load_demo_config());"
        "print(sorted(files));"
        "print('[vidline-inbound]' in files['extensions_vidline.conf'])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False, cwd=tmp_path,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    where, files, inbound = result.stdout.splitlines()
    assert where.startswith(str(target))
    assert "extensions_vidline.conf" in files and "manager_vidline.conf" in files
    assert inbound == "True"
