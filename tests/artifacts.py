"""Where tests put what they make for a person to look at (the browser tests' screenshots).

Outside the repository: `$RAGCODE_TEST_ARTIFACTS` (CI can keep it as a build artifact), else a
folder under the system temp dir. Never docs/: the README's screenshots come from
docs/take_screenshots.py (the real model on a real project), and a test run must not replace
them with scripted output or leave the tree changed (tests/unit/test_test_artifacts.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENV = "RAGCODE_TEST_ARTIFACTS"


def artifacts_dir(kind: str = "screenshots") -> Path:
    """The folder for `kind` (created)."""
    root = os.environ.get(ENV) or str(Path(tempfile.gettempdir()) / "ragcode-test-artifacts")
    directory = Path(root) / kind
    directory.mkdir(parents=True, exist_ok=True)
    return directory
