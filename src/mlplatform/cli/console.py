"""Shared Rich consoles: results on stdout, progress and errors on stderr."""

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

out = Console()
err = Console(stderr=True)


def steps_progress() -> Progress:
    """A progress bar on stderr for work counted in steps (days, partitions)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), console=err)
