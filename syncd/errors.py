"""Every error syncd reports derives from SyncdError and prints as one line naming the file."""

from __future__ import annotations

from pathlib import Path


class SyncdError(Exception):
    """A problem with one file or one run; ``str()`` is a single line for the user."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path else None

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path}: {self.message}"


class ConfigError(SyncdError):
    """The configuration is unusable. ``problems`` holds every (key path, message) pair;
    ``warnings`` the ``key path: message`` lines found beside them (reported together)."""

    def __init__(
        self,
        problems: list[tuple[str, str]],
        path: Path | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.problems = problems
        self.warnings = warnings or []
        text = "; ".join(f"{key}: {msg}" if key else msg for key, msg in problems)
        super().__init__(f"invalid configuration: {text}", path)


class PageError(SyncdError):
    """A source page cannot be synced (undecodable, binary, empty, too large, unsafe title)."""


class VaultWriteError(SyncdError):
    """A note could not be written (outside the vault, symlink escape, disk full, read-only)."""


class ConcurrentModification(VaultWriteError):
    """The note changed on disk between syncd's read and its write."""


class AlreadyRunning(SyncdError):
    """Another syncd holds the lock on this state directory."""
