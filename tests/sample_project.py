"""A small, realistic project written into a temp dir for ingestion tests."""

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

MAILER_PY = '''\
import smtplib
from email.message import EmailMessage


class Mailer:
    """Sends e-mail through an SMTP server."""

    def __init__(self, host, port=25):
        self.host = host
        self.port = port

    def send_email(self, sender, recipient, subject, body):
        """Send one e-mail message to a recipient."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port) as smtp:
            smtp.send_message(message)

    def __repr__(self):
        return f"Mailer({self.host!r})"
'''

CHECKSUM_JS = """\
const crypto = require("crypto");

/** Compute the SHA-256 checksum of a buffer as a hex string. */
const checksum = (buffer) => crypto.createHash("sha256").update(buffer).digest("hex");

function verifyChecksum(buffer, expected) {
  return checksum(buffer) === expected;
}

module.exports = { checksum, verifyChecksum };
"""


def write_sample_project(root: Path) -> Path:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "web").mkdir(parents=True, exist_ok=True)
    (root / "app" / "config.py").write_text(CONFIG_PY, encoding="utf-8")
    (root / "app" / "mailer.py").write_text(MAILER_PY, encoding="utf-8")
    (root / "web" / "checksum.js").write_text(CHECKSUM_JS, encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (root / "notes.md").write_text("# notes\n", encoding="utf-8")
    return root
