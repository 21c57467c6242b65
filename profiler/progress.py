"""The live progress display of `greenlint profile` (parent side, interactive terminals only).

The child replaces a small status file about once a second (recorder.Recorder._write_status);
the parent shows it as a rich progress bar: phase, steps measured of the target, elapsed time and
the current power (measured or estimated, as the sources are).

The script's own output must not tear the bar apart, so on an interactive terminal the child's
stdout and stderr are a pseudo-terminal (it still sees a TTY: colours, line buffering and tqdm
behave as in a terminal) whose output the parent prints above the bar. When greenlint's output
is not a terminal (pipes, CI, tests) nothing of this happens: no bar, and the child inherits the
file descriptors exactly as before.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text


def interactive(console: Console) -> bool:
    return console.is_terminal and os.isatty(1) and os.isatty(2) and hasattr(os, "openpty")


def read_status(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def status_line(status: dict[str, Any] | None, width: int = 30) -> Text:
    if status is None:
        return Text("greenlint profile: starting ...", style="dim")
    target = status.get("steps_target")
    measured = int(status.get("steps_measured") or 0)
    phase = status.get("phase", "")
    if phase in ("warm-up", "tracing"):
        done, label = 0.0, f"{phase}: step {status.get('steps_seen', 0)}"
    elif target:
        done, label = min(measured / target, 1.0), f"{measured}/{target} steps measured"
    else:
        done, label = 0.0, f"{measured} steps measured"
    filled = int(round(done * width))
    bar = Text("━" * filled, style="green") + Text("━" * (width - filled), style="grey30")
    power = status.get("power_w")
    power_text = f"{power:.0f} W" if power is not None else "- W"
    elapsed = float(status.get("elapsed_s") or 0.0)
    return Text.assemble("greenlint ", bar, f" {label}  {elapsed:.0f} s  {power_text} (now)")


class LiveProgress:
    """Shows the status file as a bar and prints the child's pty output above it."""

    def __init__(self, console: Console, status_path: str) -> None:
        self.console = console
        self.status_path = status_path
        self.master_fd: int | None = None
        self.slave_fd: int | None = None
        self._live: Live | None = None
        self._reader: threading.Thread | None = None

    def child_stdio(self) -> dict[str, Any]:
        """Popen keyword arguments that give the child the pseudo-terminal as stdout/stderr."""
        self.master_fd, self.slave_fd = os.openpty()
        return {"stdout": self.slave_fd, "stderr": self.slave_fd}

    def started(self) -> None:
        if self.slave_fd is not None:
            os.close(self.slave_fd)  # the child holds it now; EOF on the master when the child exits
            self.slave_fd = None
        self._live = Live(status_line(None), console=self.console, refresh_per_second=4, transient=True)
        self._live.start()
        if self.master_fd is not None:
            self._reader = threading.Thread(target=self._forward, name="greenlint-pty", daemon=True)
            self._reader.start()

    def _forward(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.master_fd, 4096)  # type: ignore[arg-type]
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._print(line)
        if pending:
            self._print(pending)

    def _print(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        # a carriage-return progress bar of the script's own (tqdm): keep its last state
        text = text.rsplit("\r", 1)[-1]
        if self._live is not None:
            self._live.console.print(Text.from_ansi(text), soft_wrap=True)

    def tick(self) -> None:
        if self._live is not None:
            self._live.update(status_line(read_status(self.status_path)))

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if self._live is not None:
            self._live.stop()
            self._live = None
        for fd in (self.master_fd, self.slave_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master_fd = self.slave_fd = None
