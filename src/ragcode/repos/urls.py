"""Repository URLs: which are accepted, the name a clone gets by default, and how one is shown.

Only `https`, `http`, `ssh`, `git` and `file` URLs and the scp-like `user@host:path` are
cloned. git's `<transport>::<address>` form (`ext::` runs a command, `fd::` reads a file
descriptor), anything that could be read as an option (a leading `-`, here or in a host or
user name), control and invisible characters, and whitespace are refused before git runs.
Credentials in a URL (`https://user:token@host/...`) are never shown: `redact` replaces them
with `***` wherever a URL is printed, logged or returned by the API."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from ragcode.repos.protocol import RepoError

SCHEMES = ("https", "http", "ssh", "git", "file")
MAX_URL_CHARS = 2048
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")  # git's `<transport>::<address>`
_SCP = re.compile(
    r"^(?P<user>[A-Za-z0-9_][\w.+-]*)@(?P<host>[A-Za-z0-9_][\w.-]*|\[[0-9A-Fa-f:.]+\]):"
    r"(?P<path>.*)$"
)
_SCP_LOOSE = re.compile(r"^[^/\s:]+@[^/\s:]+:")  # looks scp-like, before the strict checks
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s]+)@")
_HIDDEN = "***"


def is_remote(location: str) -> bool:
    """Whether `ragcode repo add` was given a URL (or something git would take as one, or an
    option) rather than a local path."""
    return bool(
        location.startswith("-")
        or _SCHEME.match(location)
        or _TRANSPORT.match(location)
        or _SCP_LOOSE.match(location)
    )


def _refuse(url: str, why: str) -> RepoError:
    return RepoError(f"저장소 URL 로 쓸 수 없습니다: {redact(_printable(url))} ({why})")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)[:200]


def _unsafe_char(text: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text)


def check_url(url: str) -> str:
    """The URL if it may be cloned, else a RepoError saying why (in Korean)."""
    if not url or len(url) > MAX_URL_CHARS:
        raise _refuse(url, f"비어 있거나 {MAX_URL_CHARS}자보다 깁니다")
    if _unsafe_char(url) or _unsafe_char(unquote(url)):
        raise _refuse(url, "공백이나 제어 문자가 들어 있습니다")
    if url.startswith("-"):
        raise _refuse(url, "'-' 로 시작하면 git 옵션으로 읽힙니다")
    scheme = _SCHEME.match(url)
    if scheme is None:
        if _TRANSPORT.match(url):
            raise _refuse(url, "'<방식>::' 형식(ext::, fd:: 등)은 허용하지 않습니다")
        return _check_scp(url)
    if scheme.group(1) not in SCHEMES:  # lower case, as git knows them
        raise _refuse(url, f"지원하는 방식은 {', '.join(SCHEMES)} 와 user@host:path 입니다")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise _refuse(url, "URL 형식이 올바르지 않습니다") from exc
    host, user = unquote(parts.hostname or ""), unquote(parts.username or "")
    if parts.scheme == "file":
        if host not in ("", "localhost") or not parts.path:
            raise _refuse(url, "file URL 은 file:///절대/경로 형식이어야 합니다")
    elif not host:
        raise _refuse(url, "호스트 이름이 없습니다")
    if host.startswith("-") or user.startswith("-") or unquote(parts.path).startswith("-"):
        raise _refuse(url, "'-' 로 시작하는 호스트, 사용자, 경로는 git 옵션으로 읽힐 수 있습니다")
    return url


def _check_scp(url: str) -> str:
    found = _SCP.match(url)
    if found is None:
        raise _refuse(url, f"지원하는 방식은 {', '.join(SCHEMES)} 와 user@host:path 입니다")
    if not found.group("path") or found.group("path").startswith("-"):
        raise _refuse(url, "경로가 없거나 '-' 로 시작합니다")
    return url


def default_name(url: str) -> str:
    """The last part of the URL's path without `.git`: `https://host/team/shop.git` -> shop."""
    scp = _SCP.match(url)
    path = scp.group("path") if scp and not _SCHEME.match(url) else urlsplit(url).path
    return unquote(path).rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it hidden: `https://user:***@host/...`;
    an http(s) user name alone may be a token (`https://TOKEN@host`), so it is hidden too."""

    def hide(found: re.Match[str]) -> str:
        scheme, userinfo = found.group(1), found.group(2)
        user, has_password, _ = userinfo.partition(":")
        if has_password:
            return f"{scheme}{user}:{_HIDDEN}@"
        if scheme.lower().startswith("http"):
            return f"{scheme}{_HIDDEN}@"
        return found.group(0)

    return _USERINFO.sub(hide, text)


def redact_secrets(text: str, url: str) -> str:
    """`text` (git's message about `url`) with the URL's credentials hidden, even where git
    printed them apart from the URL or percent-decoded."""
    shown = redact(text)
    try:
        parts = urlsplit(url)
        secrets = [parts.password or ""]
        if parts.scheme.lower().startswith("http") and parts.password is None:
            secrets.append(parts.username or "")
    except ValueError:
        return shown
    for secret in secrets:
        for form in {secret, unquote(secret)}:
            if len(form) >= 4:
                shown = shown.replace(form, _HIDDEN)
    return shown
