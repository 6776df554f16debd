"""One tantivy index per lexical field: the embedded store's BM25 engine (issue 13).

The postings mirror the FTS5 tables (store/fts.py) row for row: a document per unit with
tokens in that field, over every collection of the database file, so that the statistics
BM25 reads (documents, document frequency, mean length) are those of the FTS5 table.
Collection, owner scope and the unit's language are indexed string fields and filtered
inside the query, before the top-k cut: another user's private unit never takes a place in a
list, nor a Python function in a list asked for JavaScript (issue 15.2); when no document of
the index lies outside the collection and scopes asked, the filters are left out (search()).
An index written before a field was added no longer opens with this schema (tantivy refuses
a schema that does not match): the lexicon then builds it again from SQLite.

Scores equal FTS5's bm25(): tantivy's BM25 has the same k1, b and length normalisation but
another IDF, ln(1 + (N - n + 0.5) / (n + 0.5)), where FTS5 takes ln((N - n + 0.5) / (n + 0.5))
floored at 1e-6; each query term is boosted by the ratio of the two. What stays different:
tantivy stores a field's length in one byte (exact up to 40 tokens, then within a few
percent), and counts deleted documents in N and n until a merge drops them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from ragcode.store import fts

# FTS5's floor for terms in more than half of the rows (fts5_aux.c).


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # units.id (the FTS5 rowid). Signed: tantivy-py 0.27 deletes by term only on i64 fields.
    builder.add_integer_field("id", indexed=True, fast=True)
    # What the document holds, hashed: a unit logged as changed whose postings in a field
    # are the same (a summary written: its code and names) costs that field no commit.
    builder.add_integer_field("digest", fast=True)
    builder.add_text_field("collection", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("scope", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("language", tokenizer_name="raw", index_option="basic")
    # Pre-analysed, space-joined tokens (text/analyzer.py): split on spaces only.
    builder.add_text_field("tokens", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


@dataclass(frozen=True, slots=True)
class Posting:
    """One row of an FTS5 table: a unit's tokens in one field."""

    unit_id: int
    collection: str
    scope: str
    tokens: str
    language: str = ""

    @property
    def digest(self) -> int:
        text = f"{self.collection}\0{self.scope}\0{self.language}\0{self.tokens}".encode()
        return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def document(posting: Posting) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("id", posting.unit_id)
    doc.add_integer("digest", posting.digest)
    doc.add_text("collection", posting.collection)
    doc.add_text("scope", posting.scope)
    doc.add_text("language", posting.language)
    doc.add_text("tokens", posting.tokens)
    return doc


def open_index(path: Path, fields: tantivy.Schema) -> tantivy.Index:
    """Opens or creates; raises (ValueError, OSError) on a corrupt or foreign directory."""
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(fields, path=str(path), reuse=True)
    index.config_reader("Manual")  # reloaded when the change log says so, not on a timer
    return index


def digests(index: tantivy.Index, fields: tantivy.Schema, ids: list[int]) -> dict[int, int]:
    """units.id -> digest of the live documents of these units."""
    searcher = index.searcher()
    query = tantivy.Query.term_set_query(fields, "id", ids)
    found = searcher.search(query, max(1, 2 * len(ids)), count=False)
    addresses = [address for _score, address in found.hits]
    return {
        int(unit_id): int(digest)
        for unit_id, digest in zip(
            searcher.fast_field_values("id", addresses),
            searcher.fast_field_values("digest", addresses),
            strict=True,
        )
        if unit_id is not None and digest is not None
    }


def _tantivy_idf(docs: int, hits: int) -> float:
    return math.log(1 + (docs - hits + 0.5) / (hits + 0.5))


def _const(query: tantivy.Query) -> tantivy.Query:
    """A filter that adds nothing to the score."""
    return tantivy.Query.const_score_query(query, 0.0)


def search(
    index: tantivy.Index,
    fields: tantivy.Schema,
    terms: Iterable[str],
    limit: int,
    collection: str,
    scopes: Sequence[str],
    languages: Sequence[str] | None = None,
) -> list[tuple[int, float]]:
    """(units.id, score) best first: the OR of the terms in one collection and scopes (and
    `languages`, when given)."""
    searcher = index.searcher()
    docs = searcher.num_docs
    should = []
    for term in dict.fromkeys(t for t in terms if t):
        hits = searcher.doc_freq("tokens", term)
        if hits == 0:
            continue
        boost = fts.idf(docs, hits) / _tantivy_idf(docs, hits)
        term_query = tantivy.Query.term_query(fields, "tokens", term)
        should.append((tantivy.Occur.Should, tantivy.Query.boost_query(term_query, boost)))
    if not should or not scopes or limit <= 0 or (languages is not None and not languages):
        return []
    terms_only = tantivy.Query.boolean_query(should)
    if languages is None and not _filters_exclude(searcher, collection, scopes):
        # A bare OR of term queries is what tantivy prunes (block-max WAND); inside a
        # conjunction with the filters every matching document is scored (0.56 against 2.3
        # ms for the code field at 100k units). Same hits and scores: a filter adds 0.0.
        return _hits(searcher, terms_only, limit)
    filters = [
        tantivy.Query.term_query(fields, "collection", collection),
        tantivy.Query.term_set_query(fields, "scope", list(scopes)),
    ]
    if languages is not None:
        filters.append(tantivy.Query.term_set_query(fields, "language", list(languages)))
    query = tantivy.Query.boolean_query(
        [
            *((tantivy.Occur.Must, _const(condition)) for condition in filters),
            (tantivy.Occur.Must, terms_only),
        ]
    )
    return _hits(searcher, query, limit)


def _filters_exclude(searcher: tantivy.Searcher, collection: str, scopes: Sequence[str]) -> bool:
    """Some document of the index (deleted ones too, until a merge) lies in another
    collection or another scope: the filters are needed. A look at the few distinct terms of
    the two fields (0.03 ms), not at the documents. Both are never empty strings (the store
    writes a collection name and "team" or "user:<id>"), so every document has a term."""
    if any(term != collection for term, _ in searcher.terms_with_prefix("collection", "")):
        return True
    visible = set(scopes)
    return any(term not in visible for term, _ in searcher.terms_with_prefix("scope", ""))


def _hits(searcher: tantivy.Searcher, query: tantivy.Query, limit: int) -> list[tuple[int, float]]:
    found = searcher.search(query, limit, count=False)
    addresses = [address for _score, address in found.hits]
    ids = searcher.fast_field_values("id", addresses)
    return [
        (int(unit_id), float(score))
        for (score, _address), unit_id in zip(found.hits, ids, strict=True)
        if unit_id is not None
    ]
