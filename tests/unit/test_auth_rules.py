"""Rules of the account routes: user names, passwords, allowed Host names, proxy headers."""

from __future__ import annotations

import logging
import unicodedata

import pytest

from ragcode.accounts.rules import AccountError, check_password, check_username
from ragcode.config import ServerSettings, bare_host
from ragcode.server.host_check import allowed_hosts
from ragcode.server.run import proxy_options

pytestmark = pytest.mark.unit
GOOD = "correct horse battery"


@pytest.mark.parametrize(
    "name", ["alice", "Bob_2", "kim.min-su", "홍길동", "개발팀.김철수", "abc", "x" * 32]
)
def test_ascii_and_hangul_names_are_accepted(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize(
    "name",
    ["alice\n", "alice\r\n", "\u0430lice", "αlice", "ali ce", "ab", "x" * 33, "ali\u200bce",
     "alice!", "ㄱㄴㄷ", "名前名前"],
)  # fmt: skip
def test_control_characters_and_other_scripts_are_refused(name: str) -> None:
    with pytest.raises(AccountError, match="3~32자"):
        check_username(name)


def test_names_are_nfkc_normalised() -> None:
    assert check_username("ａｌｉｃｅ") == "alice"
    assert check_username(unicodedata.normalize("NFD", "홍길동")) == "홍길동"


@pytest.mark.parametrize(
    "password", ["password", "PASSWORD1", "12345678", "qwerty123", "iloveyou", "1q2w3e4r"]
)
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(AccountError, match="흔한"):
        check_password(password, "alice")


def test_password_length_and_the_user_name() -> None:
    check_password(GOOD, "alice")
    for bad in ("short", "x" * 257):
        with pytest.raises(AccountError, match="8자 이상 256자 이하"):
            check_password(bad, "alice")
    with pytest.raises(AccountError, match="사용자 이름과"):
        check_password("Kim.MinSu", "kim.minsu")


@pytest.mark.parametrize(
    ("header", "host"),
    [("Example.COM:8000", "example.com"), ("[::1]:8765", "::1"), ("::1", "::1"),
     ("localhost.", "localhost"), ("10.0.0.5", "10.0.0.5")],
)  # fmt: skip
def test_bare_host_drops_the_port(header: str, host: str) -> None:
    assert bare_host(header) == host


def test_default_allowed_hosts_follow_the_bind_address(caplog: pytest.LogCaptureFixture) -> None:
    local = {"localhost", "127.0.0.1", "::1"}
    assert ServerSettings().host_allowlist() == local
    assert ServerSettings(host="10.0.0.5").host_allowlist() == local | {"10.0.0.5"}
    with caplog.at_level(logging.WARNING):
        assert allowed_hosts(ServerSettings()) == local
        assert not caplog.records
        for wildcard in ("0.0.0.0", "::"):
            assert allowed_hosts(ServerSettings(host=wildcard)) == local
    assert len(caplog.records) == 2 and "server.allowed_hosts" in caplog.records[0].message
    configured = ServerSettings(host="0.0.0.0", allowed_hosts=["RAG.example.com", "[fd00::1]"])
    assert configured.host_allowlist() == {"rag.example.com", "fd00::1"}


def test_forwarded_headers_are_off_unless_a_proxy_is_trusted() -> None:
    assert proxy_options(ServerSettings()) == {"proxy_headers": False}
    trusted = ServerSettings(trusted_proxies=["10.0.0.2", "10.0.0.3"])
    assert proxy_options(trusted) == {
        "proxy_headers": True, "forwarded_allow_ips": "10.0.0.2,10.0.0.3"
    }  # fmt: skip
