"""Which parser a file goes to, decided by its extension alone (cheap, no I/O)."""

from __future__ import annotations

from pathlib import PurePosixPath

_BY_EXTENSION: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".java": "java",
    ".go": "go",
}

SUPPORTED_LANGUAGES: frozenset[str] = frozenset(_BY_EXTENSION.values())


def detect_language(path: str) -> str | None:
    """Language name for a path ("python", "tsx", ...), or None when we cannot parse it."""
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    return _BY_EXTENSION.get(suffix)
