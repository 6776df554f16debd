"""Nori-like Korean analysis, identifier splitting and the index/query analyzers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ragcode.text.analyzer import TOKEN_PATTERN, TextAnalyzer
from ragcode.text.identifiers import CODE_KEYWORDS, extract_identifiers, split_identifier
from ragcode.text.korean import NoriTokenizer, is_stop_tag

pytestmark = pytest.mark.unit

PARTICLES_AND_ENDINGS = {"을", "를", "은", "는", "이", "가", "의", "에", "에서", "다", "고", "요"}


@pytest.fixture(scope="module")
def nori() -> NoriTokenizer:
    return NoriTokenizer()


@pytest.fixture(scope="module")
def analyzer(nori: NoriTokenizer) -> TextAnalyzer:
    return TextAnalyzer(nori)


# --- Nori emulation -------------------------------------------------------------------------


def test_nouns_kept_particles_and_endings_dropped(nori: NoriTokenizer) -> None:
    tokens = nori.tokens("사용자 인증 토큰을 검증하는 함수")
    # mecab-ko-dic analyses 사용자 as 사용 + 자(XSN); XSN is a Nori stop-tag.
    assert tokens == ["사용", "인증", "토큰", "검증", "함수"]


def test_inflected_verbs_reduce_to_stems(nori: NoriTokenizer) -> None:
    assert nori.tokens("검증했다") == ["검증"]
    assert nori.tokens("검증합니다") == ["검증"]
    assert nori.tokens("그는 학교에 갔다") == ["그", "학교", "가"]
    assert "돕" in nori.tokens("친구를 도와줬어요")


def test_compounds_are_replaced_by_their_parts(nori: NoriTokenizer) -> None:
    tokens = nori.tokens("데이터베이스 연결")
    assert tokens == ["데이터", "베이스", "연결"]


def test_stop_tags_adverbs_determiners_interjections(nori: NoriTokenizer) -> None:
    tokens = nori.tokens("아! 그러나 이 책은 매우 좋다")
    assert tokens == ["책", "좋"]


def test_symbols_dropped_and_latin_lowercased(nori: NoriTokenizer) -> None:
    tokens = nori.tokens("(HTTP 서버)에서 3개의 요청을 처리! 😀 ＡＰＩ")
    assert tokens == ["http", "서버", "3", "개", "요청", "처리", "api"]


@pytest.mark.parametrize("tag", ["JKS", "JKO", "JX", "JC", "EP", "EF", "EC", "ETM", "XSV", "MAG"])
def test_stop_tag_families(tag: str) -> None:
    assert is_stop_tag(tag)


@pytest.mark.parametrize("tag", ["SF", "SY", "SC", "SSO", "SSC", "SE"])
def test_punctuation_tags_are_stopped(tag: str) -> None:
    assert is_stop_tag(tag)


@pytest.mark.parametrize("tag", ["NNG", "NNP", "NNB", "NNBC", "NP", "VV", "VA", "XR", "SL", "SN"])
def test_content_tags_kept(tag: str) -> None:
    assert not is_stop_tag(tag)


def test_empty_and_blank_text(nori: NoriTokenizer, analyzer: TextAnalyzer) -> None:
    assert nori.tokens("") == []
    assert analyzer.analyze_text("  \n ") == []
    assert analyzer.analyze_code("") == []


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("get_netrc_auth", ["get", "netrc", "auth"]),
        ("getNetrcAuth", ["get", "netrc", "auth"]),
        ("HTTPServerError", ["http", "server", "error"]),
        ("parseJSON2Dict", ["parse", "json", "2", "dict"]),
        ("os.path.join", ["os", "path", "join"]),
        ("MAX_RETRY_COUNT", ["max", "retry", "count"]),
        ("__init__", ["init"]),
        ("base64", ["base", "64"]),
    ],
)
def test_split_identifier(name: str, words: list[str]) -> None:
    assert split_identifier(name) == words


def test_extract_identifiers_skips_keywords_and_short_names() -> None:
    code = "def f(x, token_list):\n    return [t for t in token_list if t is not None] + 0xFF"
    assert extract_identifiers(code) == ["token_list", "token_list"]
    assert {"def", "return", "None", "func", "const", "interface"} <= CODE_KEYWORDS


# --- analyzers ------------------------------------------------------------------------------


def test_mixed_english_korean_text(analyzer: TextAnalyzer) -> None:
    tokens = analyzer.analyze_text("HTTP 서버의 Tokens를 user's 설정으로 검증한다")
    assert tokens == ["http", "서버", "token", "user", "설정", "검증"]


def test_identifier_in_prose_gives_whole_and_parts(analyzer: TextAnalyzer) -> None:
    tokens = analyzer.analyze_text("get_netrc_auth 함수는 os.path.join을 호출한다")
    assert tokens == [
        "get_netrc_auth",
        "get",
        "netrc",
        "auth",
        "함수",
        "os",
        "path",
        "join",
        "호출",
    ]


def test_s_stemmer(analyzer: TextAnalyzer) -> None:
    assert analyzer.analyze_text("tokens class is returns") == ["token", "class", "is", "return"]


def test_digits_kept(analyzer: TextAnalyzer) -> None:
    assert analyzer.analyze_text("2024년 v2 API") == ["2024", "년", "v2", "v", "2", "api"]


def test_analyze_code_python_with_korean_comment(analyzer: TextAnalyzer) -> None:
    code = (
        "import os\n"
        "def load_netrc(path: str) -> dict | None:\n"
        '    """netrc 파일을 읽어 인증 정보를 반환한다."""\n'
        "    # 사용자의 홈 디렉터리에서 찾는다\n"
        "    return parseNetrc(os.path.expanduser(path))\n"
    )
    tokens = analyzer.analyze_code(code)
    assert {"load_netrc", "load", "netrc", "parsenetrc", "parse", "expanduser"} <= set(tokens)
    assert {"파일", "인증", "정보", "반환", "홈", "디렉터리", "찾"} <= set(tokens)
    assert not {"def", "return", "import", "none", "None", "을", "는"} & set(tokens)


def test_analyze_identifiers(analyzer: TextAnalyzer) -> None:
    tokens = analyzer.analyze_identifiers(["requests.utils.get_netrc_auth", "HTTPAdapter.send"])
    assert tokens == [
        "request",
        "util",
        "get_netrc_auth",
        "get",
        "netrc",
        "auth",
        "httpadapter",
        "http",
        "adapter",
        "send",
    ]


def test_query_and_index_share_tokens_across_inflections(analyzer: TextAnalyzer) -> None:
    indexed = set(analyzer.analyze_text("사용자 토큰을 검증하는 함수입니다."))
    query = set(analyzer.analyze_query("토큰 검증했던 함수"))
    assert {"토큰", "검증", "함수"} <= indexed & query
    assert "돕" in set(analyzer.analyze_text("도와줬다")) & set(analyzer.analyze_query("돕는"))


def test_query_identifier_meets_code(analyzer: TextAnalyzer) -> None:
    code = set(analyzer.analyze_code("def get_netrc_auth(url):\n    pass\n"))
    assert {"get_netrc_auth", "get", "netrc", "auth"} <= code
    assert {"get", "netrc", "auth"} <= set(analyzer.analyze_query("getNetrcAuth는 어디?"))
    assert "get_netrc_auth" in set(analyzer.analyze_query("get_netrc_auth 설명"))


def test_all_tokens_are_query_safe(analyzer: TextAnalyzer) -> None:
    messy = 'a+b "quoted" (x OR y) AND -z* ~1 ^2 {c:d} [e] C++와 C# node.js é テスト ㅋㅋ 一'
    for tokens in (
        analyzer.analyze_text(messy),
        analyzer.analyze_code(messy),
        analyzer.analyze_identifiers(messy.split()),
    ):
        assert tokens
        assert all(TOKEN_PATTERN.fullmatch(token) for token in tokens)


def test_analysis_is_deterministic(analyzer: TextAnalyzer) -> None:
    text = "데이터베이스 연결을 초기화하는 initDatabase 함수"
    assert analyzer.analyze_text(text) == analyzer.analyze_text(text)
    assert TextAnalyzer().analyze_text(text) == analyzer.analyze_text(text)


def test_thread_safety_matches_serial(analyzer: TextAnalyzer) -> None:
    texts = [
        f"{i}번째 사용자의 인증 토큰을 검증했다. get_user_{i} 함수는 HTTPError를 던진다"
        for i in range(400)
    ]
    serial = [analyzer.analyze_text(text) for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(analyzer.analyze_text, texts))
    assert concurrent == serial
