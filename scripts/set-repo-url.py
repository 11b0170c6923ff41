"""Rewrite every link to this repository from one value: pyproject's [project.urls] Source.

The repository's location lives in one place, ``Source = "https://github.com/OWNER/NAME"``
under ``[project.urls]`` in pyproject.toml. This script derives everything else from it:

- pyproject.toml: ``Homepage``, ``Issues`` and ``Documentation`` under ``[project.urls]``;
- pyproject.toml: the roots that the PyPI readme's substitutions give the README's relative
  pictures (``raw.githubusercontent.com``) and file links (``github.com/.../blob/...``);
- README.md: the Binder and Colab links, ``pip install "...@ git+https://..."``, and any
  absolute ``raw.githubusercontent.com`` or ``github.com/.../blob/...`` links to its files;
- notebooks/*.ipynb: the ``git+https://...`` URL in the install cell.

Run it after changing Source (it only rewrites text; run again and nothing changes):

    python3 scripts/set-repo-url.py           # rewrite the files
    python3 scripts/set-repo-url.py --check   # exit 1 and name the files that disagree

Standard library only, so it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The branch the Binder, Colab, image and file links open.
BRANCH = "main"

_SOURCE = re.compile(r'^Source = "(?P<url>[^"]*)"$', re.MULTILINE)
_GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)")
_SEGMENT = r"[^/\s\"'\\)\]]+"  # one path segment of a URL inside Markdown or JSON


def source_url(pyproject: str) -> str:
    """The Source URL under [project.urls], checked to be ``https://github.com/OWNER/NAME``."""
    section = re.search(r"^\[project\.urls\]\n(?P<body>(?:[^\[\n].*\n|\n)*)", pyproject, re.M)
    match = _SOURCE.search(section.group("body")) if section else None
    if match is None:
        raise SystemExit('pyproject.toml: no Source = "..." under [project.urls]')
    url = match.group("url")
    if not _GITHUB.fullmatch(url) or url.endswith(".git"):
        raise SystemExit(
            f"pyproject.toml: Source = {url!r} must look like https://github.com/OWNER/NAME"
            " (Binder and Colab open GitHub repositories)"
        )
    return url


def rewrites(
    source: str, root: Path = ROOT
) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    """(pattern, replacement) pairs that point each kind of link at ``source``."""
    found = _GITHUB.fullmatch(source)
    assert found is not None
    owner, name = found.group("owner"), found.group("name")
    seg = _SEGMENT

    def blob_link(match: re.Match[str]) -> str:
        # Only links to files that exist here are ours; github.com links elsewhere stay.
        path = match.group("path")
        if not (root / path).exists():
            return match.group(0)
        return f"{source}/{match.group('kind')}/{BRANCH}/{path}"

    return [
        (
            re.compile(rf"https://mybinder\.org/v2/gh/{seg}/{seg}/{seg}\?"),
            lambda m: f"https://mybinder.org/v2/gh/{owner}/{name}/{BRANCH}?",
        ),
        (
            re.compile(rf"https://colab\.research\.google\.com/github/{seg}/{seg}/blob/{seg}/"),
            lambda m: f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/",
        ),
        (
            re.compile(rf"https://raw\.githubusercontent\.com/{seg}/{seg}/{seg}/"),
            lambda m: f"https://raw.githubusercontent.com/{owner}/{name}/{BRANCH}/",
        ),
        (
            re.compile(rf"git\+https://github\.com/{seg}/{seg}(?=[\s\"'\\)@]|$)"),
            lambda m: f"git+{source}",
        ),
        (
            re.compile(
                rf"https://github\.com/{seg}/{seg}/(?P<kind>blob|tree)/{seg}/"
                rf"(?P<path>[^\s\"'\\)#]+)"
            ),
            blob_link,
        ),
    ]


def rewrite_pyproject(text: str, source: str) -> str:
    """Derive Homepage, Issues and Documentation under [project.urls] from Source, and the
    roots the PyPI readme's substitutions give the README's relative pictures and links."""
    owner_and_name = source.removeprefix("https://github.com/")
    text = re.sub(
        rf"https://raw\.githubusercontent\.com/{_SEGMENT}/{_SEGMENT}/{_SEGMENT}/(?=\\)",
        f"https://raw.githubusercontent.com/{owner_and_name}/{BRANCH}/",
        text,
    )
    text = re.sub(
        rf"https://github\.com/{_SEGMENT}/{_SEGMENT}/blob/{_SEGMENT}/(?=\\)",
        f"{source}/blob/{BRANCH}/",
        text,
    )
    derived = {
        "Homepage": source,
        "Issues": f"{source}/issues",
        "Documentation": f"{source}#readme",
    }
    for key, value in derived.items():
        text, count = re.subn(rf'^{key} = "[^"]*"$', f'{key} = "{value}"', text, flags=re.M)
        if count != 1:
            raise SystemExit(f'pyproject.toml: expected one {key} = "..." under [project.urls]')
    return text


def rewrite_links(text: str, source: str, root: Path = ROOT) -> str:
    """Point every link of a kind we own at ``source``."""
    for pattern, replacement in rewrites(source, root):
        text = pattern.sub(replacement, text)
    return text


def planned(root: Path = ROOT) -> dict[Path, tuple[str, str]]:
    """Every file this script manages: path -> (current text, text it should have)."""
    pyproject = (root / "pyproject.toml").read_text()
    source = source_url(pyproject)
    files = {root / "pyproject.toml": (pyproject, rewrite_pyproject(pyproject, source))}
    for path in [root / "README.md", *sorted((root / "notebooks").glob("*.ipynb"))]:
        text = path.read_text()
        files[path] = (text, rewrite_links(text, source, root))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file disagrees"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)  # for tests
    args = parser.parse_args(argv)
    source = source_url((args.root / "pyproject.toml").read_text())
    plan = planned(args.root)
    stale = [path for path, (now, wanted) in plan.items() if now != wanted]
    names = ", ".join(str(path.relative_to(args.root)) for path in stale)
    if args.check:
        if stale:
            print(f"Not pointing at {source}: {names}. Run: python3 scripts/set-repo-url.py")
            return 1
        print(f"README, notebooks and pyproject all point at {source}.")
        return 0
    for path, (now, wanted) in plan.items():
        if now != wanted:
            path.write_text(wanted)
    print(f"Rewrote {names} to point at {source}." if stale else f"Already at {source}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
