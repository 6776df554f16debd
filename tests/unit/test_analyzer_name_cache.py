"""The analyzer's per-name cache (issue 13) changes no token."""

from __future__ import annotations

import pytest

from ragcode.text.analyzer import TextAnalyzer, identifier_tokens
from ragcode.text.identifiers import extract_identifiers

pytestmark = pytest.mark.unit

CODE = """
def get_netrc_auth(url, raise_errors=False):
    tokens = parseJSON2Dict(url)  # 토큰을 파싱한다
    for token in tokens:
        if token.startswith(url):
            return get_netrc_auth(token, raise_errors)
    return HTTPServer(tokens).getX(url) or getx(url)  # same letters, other words
"""


def uncached(code: str) -> list[str]:
    return [token for name in extract_identifiers(code) for token in identifier_tokens(name)]


def test_cached_names_give_the_same_tokens_every_time() -> None:
    analyzer = TextAnalyzer()
    first = analyzer.analyze_code(CODE)
    latin = [token for token in first if token.isascii()]
    assert latin == uncached(CODE)
    korean = first[len(latin) :]
    assert korean[:2] == ["토큰", "파싱"]
    assert "get_netrc_auth" in analyzer._names  # the names went into the cache
    first.clear()  # a caller changing its list must not change the cached tokens
    assert analyzer.analyze_code(CODE) == latin + korean


def test_name_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ragcode.text.analyzer._MAX_CACHED_NAMES", 3)
    analyzer = TextAnalyzer()
    tokens = analyzer.analyze_code(CODE)
    assert len(analyzer._names) <= 3
    assert analyzer.analyze_code(CODE) == tokens
