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


def test_long_names_are_split_but_not_kept() -> None:
    """Minified or generated names (over 64 characters) would fill the cache with names seen
    once: they are split as usual and not kept."""
    analyzer = TextAnalyzer()
    long_name = "make" + "VeryLong" * 10 + "Name"
    code = f"def {long_name}(x):\n    return short_name(x)\n"
    assert analyzer.analyze_code(code) == uncached(code)
    assert long_name not in analyzer._names and "short_name" in analyzer._names
