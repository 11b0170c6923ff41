"""Lines of code in the package, per subpackage: no docstrings, comments or blank lines.

Counts the working tree, or the package as it was at a commit (read with git, nothing is
checked out). Modules written by ``scripts/unasync.py`` (their docstring says GENERATED)
are counted apart: they are not written by hand.

    python scripts/loc.py                    # the working tree
    python scripts/loc.py --rev 3d69cbd      # the package at a commit
    python scripts/loc.py --new-since 3d69cbd  # also: lines in modules that commit lacked
"""

from __future__ import annotations

import argparse
import ast
import io
import subprocess
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "klein_widget"
_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


def code_lines(source: str) -> int:
    """Lines holding code: a bare string statement (a docstring) is not code."""
    strings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node.end_lineno is not None
        ):
            strings.update(range(node.lineno, node.end_lineno + 1))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - strings)


def sources(rev: str | None) -> dict[str, str]:
    """Each module's path (relative to the repository) and text, now or at ``rev``."""
    if rev is None:
        return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / PACKAGE).rglob("*.py")}
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, PACKAGE],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        name: subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        for name in names
        if name.endswith(".py")
    }


def part_of(path: str) -> str:
    """The subpackage a module belongs to ("(top)" for the package's own modules)."""
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 else "(top)"


def count(rev: str | None, only: set[str] | None = None) -> dict[str, list[int]]:
    """Per subpackage: [hand-written lines, generated lines]."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, text in sources(rev).items():
        if only is not None and path not in only:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        totals[part_of(path)][1 if "GENERATED from" in doc else 0] += code_lines(text)
    return totals


def show(title: str, totals: dict[str, list[int]]) -> None:
    print(f"{title}\n{'part':<12}{'hand':>8}{'generated':>11}")
    for part in sorted(totals):
        hand, generated = totals[part]
        print(f"{part:<12}{hand:>8}{generated:>11}")
    hand = sum(t[0] for t in totals.values())
    generated = sum(t[1] for t in totals.values())
    print(f"{'total':<12}{hand:>8}{generated:>11}\n")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="count the package at this commit")
    parser.add_argument("--new-since", help="also count modules this commit did not have")
    args = parser.parse_args(argv)
    show(f"{PACKAGE} at {args.rev or 'the working tree'}", count(args.rev))
    if args.new_since:
        now = set(sources(args.rev))
        new = now - set(sources(args.new_since))
        show(f"of which in modules new since {args.new_since}", count(args.rev, new))


if __name__ == "__main__":
    main(sys.argv[1:])
