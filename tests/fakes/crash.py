"""Kill a child process at a random moment while it streams output, for crash-safety tests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def kill_midway(
    command: Sequence[str],
    *,
    stderr_path: Path,
    rng: random.Random,
    ready: Callable[[str], bool] = lambda line: True,
    max_delay: float = 0.3,
    cwd: Path | None = None,
) -> list[str]:
    """Run ``command``, wait for a line ``ready`` accepts, SIGKILL it within ``max_delay`` s.

    Returns the whole lines it printed (the child may die halfway through a print, so a line
    without its newline is dropped). Fails if nothing ready arrives within 60 s, showing the
    child's standard error.
    """
    lines: list[str] = []
    started = threading.Event()
    with (
        stderr_path.open("a") as stderr,
        subprocess.Popen(
            list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as child,
    ):

        def read() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(line)
                if ready(line):
                    started.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert started.wait(60), (
            f"the child printed nothing ready: {stderr_path.read_text()[-2000:]}"
        )
        time.sleep(rng.uniform(0.0, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        reader.join(30)
    assert child.returncode == -signal.SIGKILL
    return [line for line in lines if line.endswith("\n")]
