"""Whether a git server's webhook call knows `repos.webhook_secret`.

Git servers prove it in one of two ways: the secret itself in a header (`Authorization:
Bearer`, GitLab's `X-Gitlab-Token`), checked before the body is read, or an HMAC-SHA256 of the
body under the secret (`X-Hub-Signature-256: sha256=<hex>`: GitHub, Gitea, Forgejo), checked on
the body read up to `repos.webhook_max_bytes`. Every comparison takes constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import Enum

SIGNATURE_HEADER = "x-hub-signature-256"
_SIGNATURE_PREFIX = "sha256="


class Proof(Enum):
    TOKEN = "token"  # the secret in a header: good, the body is not needed
    SIGNATURE = "signature"  # an HMAC of the body: check it once the body is read
    NONE = "none"  # no proof, or a token that is not the secret


def header_proof(headers: Mapping[str, str], secret: str) -> Proof:
    """What the headers prove; a signature header wins over a token (it binds the body)."""
    if SIGNATURE_HEADER in headers:
        return Proof.SIGNATURE
    scheme, _, value = headers.get("authorization", "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else headers.get("x-gitlab-token", "")
    if token and hmac.compare_digest(token.encode(), secret.encode()):
        return Proof.TOKEN
    return Proof.NONE


def signature_matches(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    given = headers.get(SIGNATURE_HEADER, "").strip()
    if not given.lower().startswith(_SIGNATURE_PREFIX):
        return False
    wanted = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[len(_SIGNATURE_PREFIX) :].lower().encode(), wanted.encode())
