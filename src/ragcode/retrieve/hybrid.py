"""Hybrid search: lexical and vector lists per field -> RRF -> dedupe -> priority rerank -> cut-off.

The rerank ("priority search" in the original design) scores each fused candidate by the
cosine between the question and the vectors already stored for it (code and summary), so
no document is embedded again at query time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragcode.config import SearchSettings
from ragcode.domain import TEAM_ONLY, Hit, Scores
from ragcode.embeddings.protocol import Embedder
from ragcode.retrieve.expand import QueryExpander
from ragcode.retrieve.fusion import best_cosines, best_scores, ranks_by_id, reciprocal_rank_fusion
from ragcode.retrieve.glossary import TermExpander
from ragcode.store.protocol import (
    LEXICAL_FIELDS,
    VECTOR_FIELDS,
    LexicalField,
    ScoredId,
    SearchIndex,
    Vector,
)
from ragcode.text.analyzer import TextAnalyzer

log = logging.getLogger(__name__)

RankedLists = dict[str, list[ScoredId]]


@dataclass(frozen=True, slots=True)
class RetrieverChoice:
    """Which retrievers take part; the single-retriever baselines of the evaluation use it."""

    lexical: bool = True
    vector: bool = True
    rerank: bool = True  # baselines rank by their own scores only
    expand: bool = True  # LLM query expansion, when the searcher has an expander
    glossary: bool = True  # the no-model glossary expansion (needs no LLM: `--no-expand` keeps it)


class HybridSearcher:
    def __init__(
        self,
        store: SearchIndex,
        analyzer: TextAnalyzer,
        embedder: Embedder,
        settings: SearchSettings,
        expander: QueryExpander | None = None,
        glossary: TermExpander | None = None,
    ) -> None:
        self._store = store
        self._analyzer = analyzer
        self._embedder = embedder
        self._settings = settings
        self._expander = expander
        self._glossary = glossary  # the no-model expansion (retrieve/glossary.py)

    @property
    def expander(self) -> QueryExpander | None:
        return self._expander

    def search(
        self,
        query: str,
        top_k: int | None = None,
        retrievers: RetrieverChoice = RetrieverChoice(),
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The best `top_k` units among those the owner `scopes` may see (the team's by
        default; `domain.visible_scopes(user)` for one user of the web app), of `languages`
        only when given (every list, the expansion's too, is filtered in the store)."""
        started = time.perf_counter()
        top_k = top_k or self._settings.top_k
        self._store.claim_embedder(self._embedder.name, self._embedder.dim)
        expansion = self._expand(query, retrievers)
        terms = self._glossary_terms(query, retrievers)
        embedded_terms = terms if self._settings.glossary_vector else None
        texts = [query] + [text for text in (expansion, embedded_terms) if text is not None]
        vectors = self._embedder.embed(texts)
        query_vector = vectors[0]
        # Lists by the text they search for ("" the question, "expanded-", "glossary-"):
        # the lexical ones now, the vector ones after, all queries of a field in one pass.
        lexical_lists = {"": self._lexical_lists(query, retrievers, scopes, languages)}
        vector_queries = {"": query_vector} if retrievers.vector else {}
        rerank_vector = query_vector
        cutoff_vectors: list[Vector] = []  # besides rerank_vector, any of which may pass a unit
        if expansion is not None:
            fields = self._settings.expansion_lexical_fields
            lexical_lists["expanded-"] = self._lexical_lists(
                expansion, retrievers, scopes, languages, fields, "expanded-"
            )
            if retrievers.vector:
                vector_queries["expanded-"] = vectors[1]
            rerank_vector = _blend(query_vector, vectors[1], self._settings.expansion_rerank_blend)
        if terms is not None:
            # Lexical lists always; vector lists and a rerank nudge when the words are
            # embedded too (search.glossary_vector). The cut-off passes a unit the nudged
            # vector or the vector before the nudge keeps: on toolz the nudged one keeps
            # more answers than the question's own (R@5 0.600 vs 0.553), but alone it
            # dropped units the question kept ("함수를 만들어줘" adds function/make/create,
            # pulling it away from them): so the glossary never removes a hit.
            embedded = embedded_terms is not None
            terms_vector = vectors[-1] if embedded else query_vector
            fields = self._settings.glossary_lexical_fields
            lexical_lists["glossary-"] = self._lexical_lists(
                terms, retrievers, scopes, languages, fields, "glossary-"
            )
            if retrievers.vector and embedded:
                vector_queries["glossary-"] = terms_vector
            if embedded:
                blend = self._settings.glossary_rerank_blend
                cutoff_vectors.append(rerank_vector)
                rerank_vector = _blend(rerank_vector, terms_vector, blend)
        vector_lists = self._vector_lists(vector_queries, scopes, languages)
        lists: RankedLists = {}
        for prefix in dict.fromkeys([*lexical_lists, *vector_lists]):  # lexical, then vectors
            lists.update(lexical_lists.get(prefix, {}))
            lists.update(vector_lists.get(prefix, {}))
        hits = self._fuse_and_rerank(
            lists, rerank_vector, top_k, retrievers.rerank, scopes, cutoff_vectors
        )
        log.debug(
            "search %r + %r + %r: %d hits, %.1f ms",
            query,
            expansion,
            terms,
            len(hits),
            _ms(started),
        )
        return hits

    def _expand(self, query: str, use: RetrieverChoice) -> str | None:
        if self._expander is None or not use.expand or not self._settings.expand_query:
            return None
        return self._expander.expand(query)

    def _glossary_terms(self, query: str, use: RetrieverChoice) -> str | None:
        if self._glossary is None or not use.glossary or not self._settings.glossary_expansion:
            return None
        return self._glossary.expand(query)

    def _lexical_lists(
        self,
        text: str,
        use: RetrieverChoice,
        scopes: Sequence[str],
        languages: Sequence[str] | None,
        lexical_fields: Sequence[LexicalField] = LEXICAL_FIELDS,
        prefix: str = "",
    ) -> RankedLists:
        """One ranked list per field, named e.g. "lexical:summary" (the question) or
        "expanded-lexical:code" (its expansion, with prefix "expanded-")."""
        if not use.lexical:
            return {}
        depth = self._settings.candidates_per_list
        tokens = self._analyzer.analyze_query(text)
        return {
            f"{prefix}lexical:{lexical_field}": self._store.lexical_search(
                lexical_field, tokens, depth, scopes, languages
            )
            for lexical_field in lexical_fields
        }

    def _vector_lists(
        self,
        queries: dict[str, Vector],
        scopes: Sequence[str],
        languages: Sequence[str] | None,
    ) -> dict[str, RankedLists]:
        """Per prefix of `queries`, one ranked list per vector field ("vector:code",
        "glossary-vector:summary"...); each field's vectors are read once for all queries."""
        if not queries:
            return {}
        depth = self._settings.candidates_per_list
        prefixes = list(queries)
        found: dict[str, RankedLists] = {prefix: {} for prefix in prefixes}
        for vector_field in VECTOR_FIELDS:
            per_query = self._store.vector_search_many(
                vector_field, [queries[prefix] for prefix in prefixes], depth, scopes, languages
            )
            for prefix, ranked in zip(prefixes, per_query, strict=True):
                found[prefix][f"{prefix}vector:{vector_field}"] = ranked
        return found

    def _fuse_and_rerank(
        self,
        lists: RankedLists,
        query_vector: Vector,
        top_k: int,
        rerank_on: bool,
        scopes: Sequence[str],
        cutoff_vectors: Sequence[Vector] = (),
    ) -> list[Hit]:
        settings = self._settings
        weights = settings.list_weights
        fused = reciprocal_rank_fusion(lists, k=settings.rrf_k, weights=weights)
        ordered = sorted(fused, key=lambda uid: -fused[uid])[: settings.rerank_depth]
        # Scoped again: a unit whose root was made private after the lists were read is not
        # read back for another user. Only code hashes for every candidate (copies of one
        # code are dropped in fused order), whole records for the `top_k` returned: the
        # records of ~50 candidates cost ~2.5 ms of a search (bench/bench_search.py).
        code_hashes = self._store.code_hashes(ordered, scopes)
        vectors = self._store.stored_vectors(ordered)
        ranks = ranks_by_id(lists)
        lexical = best_scores(lists, "lexical:")
        vector = best_scores(lists, "vector:")
        # Normalise RRF so that "first in every list" is 1.0 whatever the number of lists.
        fused_max = sum(weights.get(name, 1.0) / (settings.rrf_k + 1) for name in lists) or 1.0
        # Every candidate's cosines in one product (one per stored vector and query vector):
        # a product per candidate cost ~2.8 ms of a search (bench/bench_search.py).
        best = best_cosines(ordered, vectors, [query_vector, *cutoff_vectors])
        kept: list[tuple[str, Scores]] = []
        seen_code: set[str] = set()
        for position, uid in enumerate(ordered):
            code_hash = code_hashes.get(uid)
            if code_hash is None or code_hash in seen_code:  # gone, or the same code copied
                continue
            seen_code.add(code_hash)
            rerank = float(best[position, 0])
            passes = rerank >= settings.min_relevance  # or one of the cutoff vectors passes it
            if rerank_on and not (passes or np.any(best[position, 1:] >= settings.min_relevance)):
                continue
            fused_norm = fused[uid] / fused_max
            final = (
                settings.rerank_weight * rerank + settings.fused_weight * fused_norm
                if rerank_on
                else fused_norm
            )
            scores = Scores(
                vector=vector.get(uid),
                lexical=lexical.get(uid),
                fused=fused_norm,
                rerank=rerank,
                final=final,
                ranks=ranks.get(uid, {}),
            )
            kept.append((uid, scores))
        kept.sort(key=lambda item: -item[1].final)  # stable: ties stay in fused order
        chosen = kept[:top_k]
        records = self._store.get_units([uid for uid, _scores in chosen], scopes)
        return [
            Hit(record=stored.record, summary=stored.summary, scores=scores)
            for uid, scores in chosen
            if (stored := records.get(uid)) is not None  # deleted since: left out
        ]


def _blend(query_vector: Vector, expansion_vector: Vector, weight: float) -> Vector:
    """The question's direction nudged towards its expansion, unit length again."""
    blended = query_vector + weight * expansion_vector
    norm = float(np.linalg.norm(blended))
    return query_vector if norm == 0.0 else (blended / norm).astype(np.float32)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
