"""A real IPython shell with ``%load_ext klein_widget``, talking to the loopback emulator."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from IPython.utils.capture import capture_output

import klein_widget
from klein_widget.emulator import RunningEmulator
from klein_widget.magic._magics import KleinMagics
from tests.conftest import fast_options

# %klein shows one image as bounded HTML (klein_widget.magic._display.image_html).
SHOWN_IMAGE = re.compile(r'class="klein-image">.*?src="data:image/[a-z]+;base64,([^"]+)"', re.S)


def shown_image(bundle: dict[str, Any]) -> bytes | None:
    """The image bytes a display bundle shows as one %klein image (HTML), if any."""
    found = SHOWN_IMAGE.search(str(bundle.get("text/html", "")))
    return base64.b64decode(found.group(1)) if found else None


@dataclass
class Ran:
    """One cell run: its result and what a front end would show, updates applied."""

    result: ExecutionResult
    outputs: list[dict[str, Any]]  # visible display outputs (mime bundles), in order
    published: list[dict[str, Any]]  # every bundle published, updates included
    stdout: str
    stderr: str
    sent: int = 0  # requests the emulator answered during the cell
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> Any:
        return self.result.result

    @property
    def error(self) -> BaseException | None:
        return self.result.error_in_exec

    @property
    def images(self) -> list[bytes]:
        shown = [o["image/png"] if "image/png" in o else shown_image(o) for o in self.outputs]
        return [image for image in shown if image is not None]

    @property
    def texts(self) -> list[str]:
        return [o["text/plain"] for o in self.outputs if set(o) == {"text/plain"}]

    @property
    def html(self) -> list[str]:
        return [o["text/html"] for o in self.outputs if "text/html" in o]


class Shell:
    """Runs cells in the shared `InteractiveShell` and records what they display."""

    def __init__(self, shell: InteractiveShell, emulator: RunningEmulator) -> None:
        self.shell = shell
        self.emulator = emulator

    @property
    def magics(self) -> KleinMagics:
        magics: KleinMagics = self.shell.magics_manager.registry["KleinMagics"]
        return magics

    def run(self, cell: str) -> Ran:
        before = len(self.emulator.emulator.requests)
        with capture_output() as captured:
            result = self.shell.run_cell(cell, store_history=True)
        visible: list[tuple[str | None, dict[str, Any]]] = []
        for output in captured.outputs:
            display_id = output.transient.get("display_id")
            if output.update:
                visible = [(i, output.data if i == display_id else d) for i, d in visible]
            else:
                visible.append((display_id, output.data))
        return Ran(
            result=result,
            outputs=[data for _, data in visible],
            published=[o.data for o in captured.outputs],
            stdout=captured.stdout,
            stderr=captured.stderr,
            sent=len(self.emulator.emulator.requests) - before,
        )


@pytest.fixture(scope="session")
def interactive_shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext klein_widget")
    return shell


@pytest.fixture
def ipython(
    interactive_shell: InteractiveShell, live_env: str, live_emulator: RunningEmulator
) -> Iterator[Shell]:
    """The shell, the session pointed at the loopback emulator with quick polls."""
    klein_widget.session().configure(**fast_options())
    shell = Shell(interactive_shell, live_emulator)
    yield shell
    magics = shell.magics
    for name in ("width", "height", "seed", "sync", "out_dir"):
        setattr(magics, name, magics.trait_defaults(name))
