"""Fit to publish: the README, notebooks and pyproject agree, and the sdist and wheel are sound.

- The repository's address lives in pyproject's ``[project.urls]`` Source; the other URLs, the
  README's Binder, Colab, install and file links, and the notebooks' install cell follow it
  (``scripts/set-repo-url.py`` rewrites them; here we check they agree and that the script
  really moves every one of them).
- The README keeps its two first commands; the exit codes docs/CLIENT.md lists (and what each
  means) are those ``klein --help``, ``klein generate --help`` and ``klein enhance --help`` list.
- ``build`` (as ``python -m build`` does: the wheel from the sdist, in an isolated environment)
  makes an sdist and a wheel that pass ``twine check --strict``, with
  nothing in the sdist that is not the project's (marked ``packaging``: a few seconds, but
  build's isolated environment needs pip to reach an index).
- The wheel installs with its ``[emulator]`` extra into a new, empty venv and makes an image
  there with no key, as a newcomer's first steps do (``packaging`` too). pip resolves what
  the wheel's own metadata declares; it reads the dependencies from a folder of wheels that
  ``pip wheel`` fetched from the index once (`wheelhouse`, refetched when the wheel asks for
  something it lacks), so a run does not download ~50 packages and compile their bytecode.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_once

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SET_REPO_URL = ROOT / "scripts" / "set-repo-url.py"
PLACEHOLDERS = re.compile(r"\bOWNER\b|<owner>|github\.com/owner/", re.IGNORECASE)


def project_urls(pyproject: str) -> dict[str, str]:
    section = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[)", pyproject, re.M | re.S)
    assert section, "pyproject.toml has no [project.urls]"
    return dict(re.findall(r'^(\w+) = "([^"]*)"$', section.group(1), re.M))


def source() -> str:
    return project_urls((ROOT / "pyproject.toml").read_text())["Source"]


def install_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def run_set_repo_url(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SET_REPO_URL), *args], capture_output=True, text=True, timeout=60
    )


# --------------------------------------------------------------------------- one address


def test_project_urls_follow_source() -> None:
    url = source()
    owner_and_name = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    assert owner_and_name, url
    assert project_urls((ROOT / "pyproject.toml").read_text()) == {
        "Homepage": url,
        "Source": url,
        "Issues": f"{url}/issues",
        "Documentation": f"{url}#readme",
    }


def test_readme_links_follow_source() -> None:
    url = source()
    owner, name = url.removeprefix("https://github.com/").split("/")
    readme = README.read_text()
    binder_root = f"https://mybinder.org/v2/gh/{owner}/{name}/main"
    colab_root = f"https://colab.research.google.com/github/{owner}/{name}/blob/main"
    for notebook in NOTEBOOKS:
        binder = f"{binder_root}?labpath=notebooks%2F{notebook.name}"
        colab = f"{colab_root}/notebooks/{notebook.name}"
        assert f"[Binder]({binder})" in readme
        assert f"[Colab]({colab})" in readme
    assert f'"klein-widget[emulator] @ git+{url}"' in readme
    # Pictures and file links are relative, so a clone shows them offline (PyPI gets absolute
    # ones from the readme hook: test_sdist_and_wheel_build_and_pass_twine_check).
    images = re.findall(r'<img src="([^"]+)"|!\[[^\]]*\]\(([^)]+)\)', readme)
    assert images
    for image in (a or b for a, b in images):
        assert not image.startswith(("http:", "https:")), image
        assert (ROOT / image).exists(), image
    for link in re.findall(r"\]\((?!https://|#)([^)]+)\)", readme):
        assert (ROOT / link).exists(), link


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_install_cell_follows_source(notebook: Path) -> None:
    assert f'%pip install -q "klein-widget[emulator] @ git+{source()}"' in install_cell(notebook)


def test_no_placeholder_is_left() -> None:
    for path in [README, ROOT / "pyproject.toml", *NOTEBOOKS, *(ROOT / "binder").iterdir()]:
        found = PLACEHOLDERS.search(path.read_text())
        assert found is None, f"{path.relative_to(ROOT)}: placeholder {found.group(0)!r}"


def test_set_repo_url_finds_nothing_to_change() -> None:
    checked = run_set_repo_url("--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_set_repo_url_moves_every_link_once(tmp_path: Path) -> None:
    """One edit to Source and one run move everything; a second run changes nothing."""
    for name in ("README.md", "pyproject.toml", "bench/RESULTS.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    old, new = source(), "https://github.com/someone-else/klein-fork"
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'Source = "{old}"', f'Source = "{new}"'))

    assert run_set_repo_url("--root", str(tmp_path), "--check").returncode == 1
    first = run_set_repo_url("--root", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "README.md, notebooks/00-teacher.ipynb, notebooks/01-quickstart.ipynb" in first.stdout
    second = run_set_repo_url("--root", str(tmp_path))
    assert second.stdout.startswith("Already at"), second.stdout

    old_path = old.removeprefix("https://github.com/")
    texts = [path.read_text() for path in (tmp_path / "notebooks").glob("*.ipynb")]
    texts += [(tmp_path / "README.md").read_text(), pyproject.read_text()]
    for text in texts:
        assert old_path not in text
    readme = (tmp_path / "README.md").read_text()
    assert readme.count("mybinder.org/v2/gh/someone-else/klein-fork/main?") == len(NOTEBOOKS)
    assert (
        "https://raw.githubusercontent.com/someone-else/klein-fork/main/" in pyproject.read_text()
    )
    assert f"{new}/blob/main/" in pyproject.read_text()
    assert all(f"git+{new}" in install_cell(p) for p in (tmp_path / "notebooks").glob("*.ipynb"))
    # Only the URL changed: the notebooks are still valid JSON with the same cells.
    for path in (tmp_path / "notebooks").glob("*.ipynb"):
        before = json.loads((ROOT / "notebooks" / path.name).read_text())
        assert len(json.loads(path.read_text())["cells"]) == len(before["cells"])


# --------------------------------------------------------------------------- the README


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["bash scripts/quickstart.sh", "bash scripts/test.sh"]


COMMANDS = [(), ("generate",), ("edit",), ("enhance",)]
# Every command's --help from the CLI's own entry (`klein_widget.cli.main`, what the `klein`
# script runs), all in one fresh interpreter: one start-up instead of one per command.
_SHOW_HELPS = """
import contextlib, io, json, sys
from klein_widget.cli import main
shown = []
for args in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([*args, "--help"])
        except SystemExit as stop:
            assert stop.code in (0, None), stop.code
    shown.append(out.getvalue())
print(json.dumps(shown))
"""


@pytest.fixture(scope="module")
def cli_help() -> dict[tuple[str, ...], str]:
    """What ``klein [command] --help`` prints, by command."""
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW_HELPS, json.dumps(COMMANDS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(zip(COMMANDS, json.loads(shown.stdout), strict=True))


def _help_exit_codes(shown: str) -> list[tuple[int, str]]:
    epilog = shown.split("exit codes:", 1)[1]
    return [(int(code), meaning) for code, meaning in re.findall(r"^  (\d+) +(.+)$", epilog, re.M)]


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_exit_codes_are_the_cli_help(
    command: tuple[str, ...], cli_help: dict[tuple[str, ...], str]
) -> None:
    section = (
        (ROOT / "docs" / "CLIENT.md").read_text().split("Exit codes", 1)[1].split("\n## ", 1)[0]
    )
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)
    readme = [(int(code), meaning.replace("`", "")) for code, meaning in rows]
    assert [code for code, _ in readme] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 130]
    assert readme == _help_exit_codes(cli_help[command])


# --------------------------------------------------------------------------- sdist and wheel


def _build(out: Path) -> None:
    """The sdist, then the wheel from the unpacked sdist, as ``python -m build`` makes them,
    in one isolated environment holding only pyproject's build requirements (``build`` makes
    one per step: a second environment and a second install of the same requirements)."""
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv

    with DefaultIsolatedEnv() as env, tempfile.TemporaryDirectory() as unpacked:
        builder = ProjectBuilder.from_isolated_env(env, ROOT)
        env.install(builder.build_system_requires)
        env.install(builder.get_requires_for_build("sdist"))
        sdist = builder.build("sdist", out)
        with tarfile.open(sdist) as archive:
            archive.extractall(unpacked, filter="data")
        (source,) = Path(unpacked).iterdir()
        from_sdist = ProjectBuilder.from_isolated_env(env, source)
        env.install(from_sdist.build_system_requires)  # the sdist's own: already there
        env.install(from_sdist.get_requires_for_build("wheel"))
        from_sdist.build("wheel", out)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel, built once per test run (whichever xdist worker asks first)."""
    return run_once(tmp_path_factory, "dist", _build)


@pytest.mark.packaging
def test_sdist_and_wheel_build_and_pass_twine_check(dist: Path) -> None:
    sdist = next(dist.glob("*.tar.gz"))
    wheel = next(dist.glob("*.whl"))
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    top = {name.split("/", 1)[0] for name in in_sdist}
    assert top == {
        ".gitignore",  # hatchling always ships it, so a rebuild from the sdist ignores the same
        "LICENSE",
        "PKG-INFO",
        "README.md",
        "pyproject.toml",
        "klein_widget",
        "tests",
        "notebooks",
        "bench",
        "binder",
        "scripts",
        "docs",
    }
    for needed in ("tests/conftest.py", "notebooks/01-quickstart.ipynb", "scripts/test.sh"):
        assert needed in in_sdist
    junk = [n for n in in_sdist if re.search(r"__pycache__|\.pyc$|klein-outputs|\.venv", n)]
    assert junk == []

    with zipfile.ZipFile(wheel) as archive:
        in_wheel = archive.namelist()
        metadata = archive.read(next(n for n in in_wheel if n.endswith(".dist-info/METADATA")))
        entry_points = archive.read(next(n for n in in_wheel if n.endswith("entry_points.txt")))
    assert {name.split("/", 1)[0] for name in in_wheel if not name.startswith("klein_widget-")} == {
        "klein_widget"
    }
    assert "klein_widget/py.typed" in in_wheel
    assert {"klein_widget/widget/panel.js", "klein_widget/widget/panel.css"} <= set(in_wheel)
    dashboard = ("templates/dashboard.html", "templates/student.html", "static/dashboard.js")
    assert {f"klein_widget/gateway/{name}" for name in dashboard} <= set(in_wheel)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel)
    assert "klein = klein_widget.__main__:main" in entry_points.decode()
    assert f"Project-URL: Source, {source()}" in metadata.decode()
    # PyPI has no repository files: the readme hook made the README's relative pictures and
    # links absolute, and they point at files that exist here.
    described = metadata.decode().split("\n\n", 1)[1]
    owner_and_name = source().removeprefix("https://github.com/")
    pictures = re.findall(r'<img src="([^"]+)"', described)
    links = re.findall(r"\]\(([^)]+)\)", described)
    assert pictures
    assert links
    for url in pictures + links:
        assert url.startswith(("https://", "#")), url
        for root in (
            f"https://raw.githubusercontent.com/{owner_and_name}/main/",
            f"{source()}/blob/main/",
        ):
            if url.startswith(root):
                assert (ROOT / url.removeprefix(root)).exists(), url


FIRST_IMAGE = """
import klein_widget
klein_widget.use_emulator()
gen = klein_widget.KleinClient().generate("a red fox", width=256, height=256, seed=7)
print(gen.seed, gen.request.width, len(gen.image) > 1000, gen.path is not None)
"""


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    """This venv's pip (a new venv made ``--without-pip`` is installed into with ``--python``)."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def wheelhouse(factory: pytest.TempPathFactory) -> Path:
    """A folder of dependency wheels kept beside this venv (in the run's temporary folder if
    the venv is read-only), so the install below reads them from disk."""
    kept = Path(sys.prefix) / "klein-test-wheelhouse"
    try:
        kept.mkdir(exist_ok=True)
    except OSError:
        return factory.mktemp("wheelhouse")
    return kept if os.access(kept, os.W_OK) else factory.mktemp("wheelhouse")


def install_wheel(python: Path, requirement: str, wheels: Path) -> None:
    """Install ``requirement`` into ``python``'s venv from ``wheels`` alone (no index): pip
    still resolves every dependency from the wheel's metadata. If the folder lacks one (a
    dependency added since it was filled), ``pip wheel`` fetches what is missing and the
    install runs again."""
    install = ("--python", str(python), "install", "-q", "--no-index", "--no-compile")
    with open(wheels / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be filling it
        installed = _pip(*install, "--find-links", str(wheels), requirement)
        if installed.returncode != 0:
            fetched = _pip("wheel", "-q", "--wheel-dir", str(wheels), requirement)
            assert fetched.returncode == 0, fetched.stdout[-3000:] + fetched.stderr[-3000:]
            for own in wheels.glob("klein_widget-*.whl"):  # only the one under test is used
                own.unlink()
            installed = _pip(*install, "--find-links", str(wheels), requirement)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]


@pytest.mark.packaging
def test_the_wheel_installs_in_a_new_venv_and_makes_an_image(
    dist: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    venv = tmp_path / "venv"
    # Empty: no pip, setuptools or anything else that could hide a missing dependency.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    install_wheel(python, f"{wheel}[emulator]", wheelhouse(tmp_path_factory))
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),  # a newcomer's empty home; the gallery goes there
    }
    made = subprocess.run(
        [str(python), "-c", FIRST_IMAGE],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout.splitlines()[-1] == "7 256 True True"
    helped = subprocess.run(
        [str(venv / "bin" / "klein"), "--help"], capture_output=True, text=True, env=env
    )
    assert helped.returncode == 0
    assert re.findall(r"^    (\w+) ", helped.stdout, re.M)[:4] == [
        "generate",
        "edit",
        "enhance",
        "resume",
    ]
