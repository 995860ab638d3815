"""Run a command, measure wall time and peak memory of its whole process tree.

Peak memory is the largest sum of RSS over the process and all its children, sampled every
100 ms: Metaflow runs each task in its own process, so one process's maxrss would undercount.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str


def measure(
    name: str,
    command: list[str],
    cwd: str,
    env: dict[str, str] | None = None,
    address_space_bytes: int | None = None,
    timeout_s: float | None = None,
) -> Measurement:
    """`address_space_bytes` caps the process's virtual memory (RLIMIT_AS, like `ulimit -v`);
    `timeout_s` kills a run that takes longer (an allocation failure can leave one hanging)."""

    def cap() -> None:
        if address_space_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))

    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (read after the process ends)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=cap if address_space_bytes else None,
    )
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        if timeout_s and time.perf_counter() - started > timeout_s:
            proc.kill()
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    log.seek(0)
    return Measurement(name, seconds, peak / 2**20, proc.returncode, log.read())
