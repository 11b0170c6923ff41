"""`EmulatorProcess`: the klein emulator on loopback in a child process, with its request log.

Example:
    >>> with EmulatorProcess(inference_time=0.6, concurrency=8) as emu:  # doctest: +SKIP
    ...     mark = emu.mark()
    ...     ...  # make images against emu.base_url
    ...     emu.requests(since=mark)
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

CHILD = Path(__file__).with_name("_emulator_child.py")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Record:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    at: float  # time.monotonic() in the emulator's process (the same clock system-wide)

    @property
    def kind(self) -> str:
        """``submit``, ``result``, ``image`` or ``other``."""
        if self.method == "POST":
            return "submit"
        if self.path.startswith("/api/v3/predictions/"):
            return "result"
        if self.path.startswith("/emulator/images/"):
            return "image"
        return "other"


class EmulatorProcess:
    """Start ``python bench/_emulator_child.py`` and talk to it over its stdin/stdout.

    ``image``: ``"photo"`` (one photo-weight PNG per size, served at once) or ``"drawn"``
    (the emulator's own placeholders, drawn on first download); see the child's docstring.
    ``photo_compress``: the photos' PNG compression level (lower draws them faster).
    """

    def __init__(
        self,
        *,
        inference_time: float = 0.6,
        concurrency: int | None = None,
        image: str = "photo",
        photo_compress: int = 6,
    ) -> None:
        command = [sys.executable, str(CHILD), f"--inference-time={inference_time}"]
        command += [f"--image={image}", f"--photo-compress={photo_compress}"]
        if concurrency:
            command.append(f"--concurrency={concurrency}")
        self.inference_time = inference_time
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        first = self._read()
        self.base_url: str = first["base_url"]
        self.pid = self._proc.pid

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait(5)
            raise RuntimeError(f"the emulator process ended (exit {code}); see its stderr above")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"emulator process: {reply['error']}")
        return reply

    def _call(self, cmd: str, **fields: Any) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self._proc.stdin.flush()
        return self._read()["ok"]

    def configure(self, **knobs: Any) -> None:
        """Change emulator knobs (``inference_time``, ``concurrency``...) for new tasks."""
        self._call("configure", knobs=knobs)
        if "inference_time" in knobs:
            self.inference_time = float(knobs["inference_time"])

    def reset(self) -> None:
        """Forget tasks and the request log."""
        self._call("reset")

    def requests(self, since: int = 0) -> list[Record]:
        """The request log from index ``since`` on."""
        return [Record(*row) for row in self._call("log", since=since)]

    def tasks(self) -> list[tuple[str, float, float]]:
        """``(id, start, finish)`` of every task since the last reset (monotonic times)."""
        return [(str(i), float(s), float(f)) for i, s, f in self._call("tasks")]

    def mark(self) -> int:
        """The log's current length: pass it to `requests` to see only what follows."""
        return int(self._call("size"))

    def stop(self) -> None:
        """Stop the server and wait for the process (idempotent)."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                self._proc.stdin.close()
                self._proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
