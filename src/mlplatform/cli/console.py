"""Shared Rich consoles: results on stdout, progress and errors on stderr."""

from rich.console import Console

out = Console()
err = Console(stderr=True)
