"""What a user name and a password may be; the messages are shown to the user as they are."""

from __future__ import annotations

import re
import unicodedata

# ASCII letters and digits, '.', '_', '-', and Hangul syllables: no look-alikes from other
# scripts ("аlice" with a Cyrillic 'а'), no control characters ("alice\n").
_USERNAME = re.compile(r"[A-Za-z0-9._\-\uac00-\ud7a3]{3,32}")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# The most used passwords of at least MIN_PASSWORD characters (public breach lists, with
# Korean keyboard patterns); compared without regard to case.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "password!", "passw0rd",
    "p@ssw0rd", "p@ssword", "12345678", "123456789", "1234567890", "0123456789",
    "87654321", "11111111", "00000000", "88888888", "12341234", "11223344", "123123123",
    "qwerty12", "qwerty123", "qwerty1234", "qwertyuiop", "1q2w3e4r", "1q2w3e4r5t",
    "1qaz2wsx", "qwer1234", "asdf1234", "zxcv1234", "asdfghjkl", "zxcvbnm1", "q1w2e3r4",
    "iloveyou", "iloveyou1", "sunshine", "princess", "football", "baseball", "superman",
    "whatever", "trustno1", "welcome1", "letmein1", "abc12345", "abcd1234", "a1234567",
    "admin123", "administrator", "changeme", "computer", "internet", "starwars",
    "dragon12", "monkey12", "sarang12", "saranghae", "tkfkdgo1", "dkssudgktpdy",
})  # fmt: skip


class AccountError(ValueError):
    """An account refused or not found; the message is shown to the user as is."""


def normalize_username(raw: str) -> str:
    """NFKC: full-width 'ａｌｉｃｅ' is 'alice' and decomposed Hangul is composed, so one
    name has one spelling at sign-up and at login."""
    return unicodedata.normalize("NFKC", raw)


def check_username(raw: str) -> str:
    """The normalised name, or AccountError."""
    name = normalize_username(raw)
    if not _USERNAME.fullmatch(name):
        raise AccountError(
            "사용자 이름은 3~32자의 영문자, 숫자, 한글과 '.', '_', '-' 만 쓸 수 있습니다."
        )
    return name


def check_password(password: str, username: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"비밀번호는 {MIN_PASSWORD}자 이상 {MAX_PASSWORD}자 이하여야 합니다.")
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        raise AccountError("너무 흔한 비밀번호입니다. 추측하기 어려운 비밀번호를 정해 주세요.")
    if folded == normalize_username(username).casefold():
        raise AccountError("비밀번호는 사용자 이름과 달라야 합니다.")
