"""BM25 over `tsvector` postings in PostgreSQL, with a bounded candidate set.

Postings. The analyzer's tokens become one lexeme each (lowercased, split like FTS5's
unicode61 tokenizer with `_` kept), written straight as a `tsvector` literal (no parser in
between), so index and query meet exactly as in the embedded store. Each lexeme has one
position whose weight class says how often the term occurs: D once, C twice, B three times
or more, the exact count then being in the field's `tf_<field>` jsonb. `ts_rank` of a one-term
query returns the class weight / ζ(2), so one C call per (unit, term) reads the frequency.

Ranking: FTS5's bm25() (k1 = 1.2, b = 0.75, idf = ln((N - df + 0.5) / (df + 0.5)), at least
1e-6), with N, df and the average length per collection and field from `store_terms`, which
writers keep exact. Over the same candidates the scores equal the embedded store's.

Bounded candidates. Scoring every unit that contains a common term is what made
`ts_rank_cd` OR queries take 700 ms at 100k units. Query terms are taken rarest first: every
unit holding one of the rarest terms is a candidate, until their document frequencies add up
to GENERATOR_BUDGET; the remaining (common) terms add to the scores of those candidates but
bring in only a sample of their own: SAMPLE units holding all of them, and SAMPLE holding any.
The work is bounded whatever the size of the collection. The ranking equals BM25 over the
whole collection whenever a unit needs one of the rare terms to reach the top `limit`; a
query made only of very common terms ranks a sample of their units.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql
from psycopg.types.json import Jsonb

from ragcode.store.pg_pool import Connection
from ragcode.store.protocol import LEXICAL_FIELDS, LexicalField

K1, B = 1.2, 0.75
GENERATOR_BUDGET = 1000  # postings of the rarest terms read in full
SAMPLE = 200  # units brought in by each combination of common terms (all, pairs, any)
PAIRED_TERMS = 4  # the rarest common terms whose pairs bring in units
MAX_TERMS = 16  # the rarest query terms kept
_MAX_LEXEME_BYTES = 500  # PostgreSQL refuses lexemes over 2 KB; nobody searches for those
# ts_rank weights for classes {D, C, B, A}; ts_rank divides a single position's weight by ζ(2)
# (1.64493406685 in its source). B (3 or more) is looked up in the jsonb instead.
RANK_WEIGHTS = "{0.1,0.2,0.3,0.3}"
TF_FROM_RANK = 1.64493406685 * 10
_SPLIT = re.compile(r"[^\w]+")  # \w: letters, digits, `_` (FTS5 unicode61 + tokenchars '_')


def terms(tokens: Iterable[str]) -> list[str]:
    """Index/query terms of analyser tokens, in order, duplicates kept."""
    found: list[str] = []
    for token in tokens:
        for part in _SPLIT.split(token.lower()):
            if part and len(part.encode()) <= _MAX_LEXEME_BYTES:
                found.append(part)
    return found


def _weight(count: int) -> str:
    return "" if count == 1 else "C" if count == 2 else "B"


def _quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Postings:
    """One field of one unit: the `tsvector` literal, the frequencies of its terms that occur
    three times or more (jsonb), its length in tokens and its distinct terms."""

    tsvector: str | None
    frequent: Jsonb | None
    length: int
    counts: Counter[str]

    @classmethod
    def of(cls, tokens: Iterable[str] | None) -> Postings:
        found = terms(tokens or [])
        counts = Counter(found)
        literal = " ".join(f"{_quote(t)}:1{_weight(n)}" for t, n in counts.items())
        frequent = {t: n for t, n in counts.items() if n >= 3}
        return cls(literal or None, Jsonb(frequent) if frequent else None, len(found), counts)


class TermDeltas:
    """Changes to `store_terms` within one transaction, written once at its end, in key order
    (concurrent writers then lock the shared rows of common terms in the same order, and hold
    them only for the end of their transaction)."""

    def __init__(self) -> None:
        self.df: Counter[tuple[str, str, str]] = Counter()
        self.total: Counter[tuple[str, str, str]] = Counter()

    def add(self, collection: str, fld: LexicalField, postings: Postings) -> None:
        if not postings.counts:
            return
        self.df[(collection, fld, "")] += 1
        self.total[(collection, fld, "")] += postings.length
        for term in postings.counts:
            self.df[(collection, fld, term)] += 1

    def remove_units(
        self,
        conn: Connection,
        units: sql.Composable,
        params: dict[str, object],
        fields: Sequence[LexicalField] = LEXICAL_FIELDS,
    ) -> None:
        """Subtract the postings of the units that `units` (a query of ids) selects, read back
        from their tsvectors, before they are deleted or rewritten."""
        query = sql.SQL(
            "SELECT u.collection, f.field, x.lexeme, count(*), 0 FROM store_units u {lex}"
            " CROSS JOIN LATERAL unnest(f.value) x WHERE u.id IN ({units}) GROUP BY 1, 2, 3"
            " UNION ALL SELECT u.collection, f.field, '', count(*), sum(f.value)"
            " FROM store_units u {len} WHERE u.id IN ({units}) AND f.value > 0 GROUP BY 1, 2"
        ).format(lex=_per_field("lex", fields), len=_per_field("len", fields), units=units)
        for collection, fld, term, units_count, tokens in conn.execute(query, params):
            key = (str(collection), str(fld), str(term))
            self.df[key] -= int(units_count)
            self.total[key] -= int(tokens)

    def write(self, conn: Connection) -> None:
        keys = sorted(k for k in self.df.keys() | self.total.keys() if self.df[k] or self.total[k])
        if not keys:
            return
        columns: list[list[object]] = [[], [], [], [], []]
        for key in keys:
            for column, value in zip(columns, (*key, self.df[key], self.total[key]), strict=True):
                column.append(value)
        conn.execute(_WRITE_TERMS, columns)


def _per_field(column: str, fields: Sequence[LexicalField]) -> sql.Composable:
    values = sql.SQL(", ").join(
        sql.SQL("({}, u.{})").format(sql.Literal(fld), sql.Identifier(f"{column}_{fld}"))
        for fld in fields
    )
    return sql.SQL("CROSS JOIN LATERAL (VALUES {}) AS f(field, value)").format(values)


_WRITE_TERMS = """INSERT INTO store_terms (collection, field, term, df, total)
SELECT c, f, t, d, n
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[]) AS x(c, f, t, d, n)
ORDER BY c, f, t
ON CONFLICT (collection, field, term)
DO UPDATE SET df = store_terms.df + excluded.df, total = store_terms.total + excluded.total"""


@dataclass(frozen=True, slots=True)
class RankPlan:
    """Where candidates come from (a tsquery, and a cap unless all its units are wanted) and
    the weight (idf) of every query term."""

    sources: list[tuple[str, int | None]]
    idf: dict[str, float]
    avgdl: float


def plan(query_terms: Sequence[str], stats: dict[str, tuple[int, int]]) -> RankPlan | None:
    """`stats`: term -> (df, total) for the query terms and '' (the field's totals)."""
    units, tokens = stats.get("", (0, 0))
    present = sorted(
        (stats[t][0], t) for t in dict.fromkeys(query_terms) if stats.get(t, (0, 0))[0] > 0
    )[:MAX_TERMS]
    if units <= 0 or not present:
        return None
    rare: list[str] = []
    read = 0
    for df, term in present:
        if read + df > GENERATOR_BUDGET:
            break
        rare.append(term)
        read += df
    common = [t for _, t in present if t not in rare]
    sources: list[tuple[str, int | None]] = []
    if rare:
        sources.append((" | ".join(_quote(t) for t in rare), None))
    # Among the units of common terms, those holding several of them score best.
    if len(common) > 1:
        sources.append((" & ".join(_quote(t) for t in common), SAMPLE))
    if len(common) > 2:
        sources += [
            (f"{_quote(a)} & {_quote(b)}", SAMPLE)
            for a, b in itertools.combinations(common[:PAIRED_TERMS], 2)
        ]
    if common:
        sources.append((" | ".join(_quote(t) for t in common), SAMPLE))
    return RankPlan(
        sources=sources,
        idf={t: _idf(units, df) for df, t in present},
        avgdl=max(tokens / units, 1e-9),
    )


def _idf(units: int, df: int) -> float:
    value = math.log((units - df + 0.5) / (df + 0.5))
    return value if value > 0 else 1e-6  # as FTS5: a term in most rows still counts a little


def search_query(
    fld: LexicalField, rank: RankPlan, *, by_language: bool = False
) -> tuple[sql.Composed, dict[str, object]]:
    """SQL and parameters of one ranked search; the caller adds collection, scopes, limit
    (and languages, with `by_language`)."""
    lex = sql.Identifier(f"lex_{fld}")
    params: dict[str, object] = {
        "weights": RANK_WEIGHTS, "tf_scale": TF_FROM_RANK, "avgdl": rank.avgdl,
        "k1": K1, "k1p1": K1 + 1, "one_b": 1 - B, "b": B,
    }  # fmt: skip
    tf_columns: list[sql.Composable] = []
    parts: list[sql.Composable] = []
    for i, term in enumerate(rank.idf):
        params[f"t{i}"], params[f"q{i}"], params[f"idf{i}"] = term, _quote(term), rank.idf[term]
        tf = sql.Identifier(f"tf{i}")
        tf_columns.append(
            sql.SQL(
                "coalesce((u.{frequent} ->> %({t})s)::float8,"
                " ts_rank(%(weights)s::float4[], u.{lex}, %({q})s::tsquery) * %(tf_scale)s) AS {tf}"
            ).format(
                frequent=sql.Identifier(f"tf_{fld}"),
                t=sql.SQL(f"t{i}"),
                lex=lex,
                q=sql.SQL(f"q{i}"),
                tf=tf,
            )
        )
        parts.append(
            sql.SQL("%({idf})s * {tf} * %(k1p1)s / ({tf} + norm)").format(
                idf=sql.SQL(f"idf{i}"), tf=tf
            )
        )
    # Candidates, already filtered by owner scope (and language): a private unit never takes
    # a place, nor one of a language not asked for.
    language = sql.SQL(" AND language = ANY(%(languages)s)" if by_language else "")
    sources: list[sql.Composable] = []
    for i, (tsquery, cap) in enumerate(rank.sources):
        params[f"s{i}"] = tsquery
        matching = sql.SQL(
            "SELECT id FROM store_units WHERE collection = %(collection)s"
            " AND scope = ANY(%(scopes)s){language} AND {lex} @@ %({s})s::tsquery"
        ).format(lex=lex, s=sql.SQL(f"s{i}"), language=language)
        if cap is not None:
            params[f"cap{i}"] = cap
            matching = sql.SQL("({} LIMIT %({})s)").format(matching, sql.SQL(f"cap{i}"))
        sources.append(matching)
    # The candidate ids become an array first (so the units are fetched by primary key), and
    # OFFSET 0 keeps the frequencies a subquery of their own: computed once per unit, not once
    # per mention in the score.
    query = sql.SQL(
        "SELECT uid, {score} AS score FROM ("
        "SELECT u.id, u.uid, %(k1)s * (%(one_b)s + %(b)s * u.{length} / %(avgdl)s) AS norm,"
        " {tf_columns} FROM store_units u"
        " WHERE u.id = ANY(ARRAY({sources})) OFFSET 0) AS frequencies"
        " ORDER BY score DESC, id LIMIT %(limit)s"
    ).format(
        score=sql.SQL(" + ").join(parts),
        length=sql.Identifier(f"len_{fld}"),
        tf_columns=sql.SQL(", ").join(tf_columns),
        sources=sql.SQL(" UNION ").join(sources),
    )
    return query, params


def search(
    conn: Connection,
    collection: str,
    fld: LexicalField,
    query_terms: Sequence[str],
    scopes: Sequence[str],
    limit: int,
    languages: Sequence[str] | None = None,
) -> list[tuple[str, float]]:
    """(uid, BM25 score) of the best `limit` units the `scopes` may see (of `languages`,
    when given), best first."""
    stats = {
        term: (df, total)
        for term, df, total in conn.execute(
            "SELECT term, df, total FROM store_terms"
            " WHERE collection = %s AND field = %s AND term = ANY(%s)",
            (collection, fld, [*set(query_terms), ""]),
        )
    }
    rank = plan(query_terms, stats)
    if rank is None:
        return []
    query, params = search_query(fld, rank, by_language=languages is not None)
    params.update(collection=collection, scopes=list(scopes), limit=limit)
    if languages is not None:
        params["languages"] = list(languages)
    # Never a prepared statement: a generic plan would not see how rare the terms are.
    rows = conn.execute(query, params, prepare=False)
    return [(uid, float(score)) for uid, score in rows]
