"""A project with the same job done in Python and in JavaScript (issue 15.2: choosing the
code language): a question about it finds both unless the language is chosen."""

from __future__ import annotations

from pathlib import Path

CONFIG_PY = '''\
import json


def read_config(path):
    """Read a JSON configuration file and return it as a dict."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_config(path, config):
    """Write the configuration dict to a JSON file."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, ensure_ascii=False, indent=2)
'''

CONFIG_JS = """\
const fs = require("fs");

/** Read a JSON configuration file and return it as an object. */
function readConfig(path) {
  return JSON.parse(fs.readFileSync(path, "utf-8"));
}

/** Write the configuration object to a JSON file. */
function writeConfig(path, config) {
  fs.writeFileSync(path, JSON.stringify(config, null, 2), "utf-8");
}

module.exports = { readConfig, writeConfig };
"""

QUESTION = "JSON 설정 파일을 읽는 함수를 만들어 줘"


def write_mixed_project(root: Path) -> Path:
    (root / "py").mkdir(parents=True, exist_ok=True)
    (root / "js").mkdir(parents=True, exist_ok=True)
    (root / "py" / "config.py").write_text(CONFIG_PY, encoding="utf-8")
    (root / "js" / "config.js").write_text(CONFIG_JS, encoding="utf-8")
    return root
