"""In-memory vector search over the vectors held in SQLite.

Exact inner product with numpy is a few milliseconds at 10k units and tens at 100k on this
class of machine; it needs no separate index file that could drift from the database. From
`projection_from` rows on, a narrow projected copy of the rows picks the candidates that are
then scored exactly (vector_projection.py).
The matrix follows the database through `vector_changes` (schema.py), a log that triggers on
`units` fill for every commit of any process: a search after a write re-reads only the rows
that changed, instead of the whole matrix (1.4 s at 100k units).
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ragcode.store.protocol import ScoredId, Vector, VectorField
from ragcode.store.vector_projection import (
    PROJECTION_MIN_ROWS,
    Projection,
    blocked_scores,
    candidate_count,
    projectable,
)

# Above this share of changed rows one full read is cheaper than row-by-row updates.
FULL_RELOAD_SHARE = 0.3
# Free slots a matrix read whole keeps for the writes that follow: a 16th of its rows, at
# least 1,024 (a large upload); 12.8 MB per 512-dim field at 100k units.
RELOAD_HEADROOM_DIVISOR = 16
RELOAD_HEADROOM_MIN = 1024
# Rows fetched from SQLite at a time when a whole field is read (~8 MB of 512-float vectors).
_RELOAD_BATCH = 4096
FREE = -1  # scope index of a slot that holds no row
# Filters kept per matrix (one per distinct scopes + languages asked): a web app's users each
# ask with their own scope; past this many the least recently used one goes. One byte per slot
# each (100 KB per filter at 100k units, 6.4 MB for both fields' caches).
MAX_FILTERS = 32

# Which scopes and languages a search may see, as a hashable key of the filter cache.
FilterKey = tuple[frozenset[str], frozenset[str] | None]
# A filter's excluded slots as a boolean mask over [0, used), and how many are True.
_Excluded = tuple[npt.NDArray[np.bool_], int]


def to_blob(vector: Vector | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype=np.float32)


def vector_column(fld: VectorField) -> str:
    return "vec_code" if fld == "code" else "vec_summary"


def _rows_select(fld: VectorField) -> str:
    """What a matrix reads of a unit row: id, uid, the field's vector, scope, language."""
    return f"SELECT id, uid, {vector_column(fld)}, scope, language FROM units"


def log_position(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM vector_changes").fetchone()[0])


def log_floor(conn: sqlite3.Connection) -> int:
    """Changes up to this sequence number may have been trimmed from the log."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'vector_log_floor'").fetchone()
    return int(row[0]) if row else 0


# Rows scored per block when several queries share a pass: ~2 MB (1,024 rows of 512 floats),
# the fastest of 256-8,192 rows measured here (512 KB L2 per core).
_BLOCK_BYTES = 2 * 1024 * 1024


@dataclass(slots=True)
class VectorMatrix:
    """Rows in slots: a changed unit frees its slot and its new vector takes a free one."""

    fld: VectorField
    collection: str
    seq: int = -1  # the last change of the log this matrix reflects; -1: never read
    matrix: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32)
    )  # (capacity, dim); rows of unit length
    scopes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    uids: list[str | None] = field(default_factory=list)  # per slot
    scope_names: list[str] = field(default_factory=list)
    # The unit's language per slot, as an index into `language_names` (issue 15.2's filter).
    languages: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    language_names: list[str] = field(default_factory=list)
    used: int = 0  # slots [0, used) hold rows or holes
    slot_of: dict[int, int] = field(default_factory=dict)  # units.id -> slot
    free: list[int] = field(default_factory=list)
    # Per filter: the slots in [0, used) a search must not return (holes, others' rows, other
    # languages). Built once per filter and matrix state instead of per query (np.isin over
    # every slot cost 2-3 ms at 100k units); emptied whenever a row comes or goes.
    excluded: OrderedDict[FilterKey, _Excluded] = field(default_factory=OrderedDict)
    # From this many slots on (None or 0: never), the rows' narrow copy picks the candidates
    # of an exact score (vector_projection.py); fitted at the first search that needs it.
    projection_from: int | None = PROJECTION_MIN_ROWS
    projection: Projection | None = None

    @classmethod
    def load(
        cls,
        conn: sqlite3.Connection,
        fld: VectorField,
        collection: str,
        projection_from: int | None = PROJECTION_MIN_ROWS,
    ) -> VectorMatrix:
        return cls(fld, collection, projection_from=projection_from).refreshed(conn)

    @property
    def rows(self) -> int:
        return len(self.slot_of)

    def refreshed(self, conn: sqlite3.Connection) -> VectorMatrix:
        """This matrix caught up with the log, or a new one read whole when that is cheaper
        (or the log no longer reaches back). The caller serialises access to `conn` (no
        other transaction may be open on it) and to this matrix."""
        if self.seq >= 0 and log_position(conn) == self.seq:
            return self
        conn.execute("BEGIN")  # one snapshot: the rows read and the log position agree
        try:
            position = log_position(conn)
            if self.seq < 0 or log_floor(conn) > self.seq:
                return self._reloaded(conn, position)
            changed = [
                int(row[0])
                for row in conn.execute(
                    "SELECT DISTINCT unit_id FROM vector_changes WHERE seq > ? AND collection = ?",
                    (self.seq, self.collection),
                )
            ]
            holes = len(self.free) + len(changed)
            if max(len(changed), holes) > max(1000, FULL_RELOAD_SHARE * self.rows):
                return self._reloaded(conn, position)  # cheaper, and compacts the holes
            for unit_id in changed:
                self._remove(unit_id)
            self._add(self._read(conn, changed))
            self.seq = position
            return self
        finally:
            if conn.in_transaction:  # SQLite may have rolled back on an error already
                conn.execute("COMMIT")

    def _reloaded(self, conn: sqlite3.Connection, position: int) -> VectorMatrix:
        """The whole collection read into a new matrix without holes, in one piece. The rows
        are copied into the matrix batch by batch as SQLite returns them: all of them held at
        once as bytes, then joined, then copied, took three times the matrix's memory (peak
        RSS 878 against 570 MB for both fields of 100k units; the time the same within this
        machine's noise, 0.5-2.2 s per field either way: bench/README.md)."""
        fresh = VectorMatrix(
            self.fld, self.collection, seq=position, projection_from=self.projection_from
        )
        where = f"WHERE collection = ? AND {vector_column(self.fld)} IS NOT NULL"
        count = int(
            conn.execute(f"SELECT count(*) FROM units {where}", (self.collection,)).fetchone()[0]
        )
        cursor = conn.execute(f"{_rows_select(self.fld)} {where}", (self.collection,))
        try:  # an error mid-read must not leave the statement (and its snapshot) open
            return self._filled(fresh, cursor, count)
        finally:
            cursor.close()

    @staticmethod
    def _filled(fresh: VectorMatrix, cursor: sqlite3.Cursor, count: int) -> VectorMatrix:
        """`fresh` with the `count` rows of `cursor` (id, uid, vector, scope, language)."""
        batch = cursor.fetchmany(_RELOAD_BATCH)
        if not count or not batch:
            return fresh
        width = len(batch[0][2])
        if width % 4:
            raise ValueError(f"a stored vector of {width} bytes is not float32")
        # Free slots after the rows: without them the first write after a reload grew the
        # matrix by a copy of the whole (~280 ms per field at 100k units, in the first search
        # after a server start and an upload; bench/README.md).
        capacity = count + max(RELOAD_HEADROOM_MIN, count // RELOAD_HEADROOM_DIVISOR)
        fresh._reserve(capacity, width // 4)  # every slot free, as a grown matrix's
        into = fresh.matrix.data.cast("B")  # C-contiguous: slot i is bytes [i*width, (i+1)*width)
        uids: list[str] = []
        scopes: list[str] = []
        languages: list[str] = []
        while batch:
            if len(uids) + len(batch) > count:  # cannot happen: one snapshot (`refreshed`)
                raise RuntimeError("the units changed while their vectors were read")
            for slot, (unit_id, uid, blob, scope, language) in enumerate(batch, len(uids)):
                if len(blob) != width:  # the store refuses a second model
                    raise ValueError(f"vectors of {len(blob)} and {width} bytes mixed")
                into[slot * width : (slot + 1) * width] = blob
                fresh.slot_of[int(unit_id)] = slot
                uids.append(uid)
                scopes.append(scope)
                languages.append(language)
            batch = cursor.fetchmany(_RELOAD_BATCH)
        rows = len(uids)
        fresh.scope_names = sorted(set(scopes))
        codes = {name: i for i, name in enumerate(fresh.scope_names)}
        fresh.scopes[:rows] = np.fromiter((codes[name] for name in scopes), np.int32, rows)
        fresh.language_names = sorted(set(languages))
        langs = {name: i for i, name in enumerate(fresh.language_names)}
        fresh.languages[:rows] = np.fromiter((langs[name] for name in languages), np.int32, rows)
        fresh.uids[:rows] = uids
        fresh.used = rows
        return fresh

    def _read(
        self, conn: sqlite3.Connection, ids: Sequence[int]
    ) -> list[tuple[int, str, bytes, str, str]]:
        """The rows of these units that hold a vector of this field (a catch-up's changes)."""
        column = vector_column(self.fld)
        select = _rows_select(self.fld)
        rows: list[tuple[int, str, bytes, str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # "+collection": by primary key. Otherwise SQLite walks the collection's index
            # (every unit): 25 ms against 2 ms for 400 changed rows at 100k units.
            query = f"{select} WHERE id IN ({marks}) AND +collection = ? AND {column} IS NOT NULL"
            rows += conn.execute(query, (*chunk, self.collection))
        return rows

    def _remove(self, unit_id: int) -> None:
        slot = self.slot_of.pop(unit_id, None)
        if slot is not None:
            self.excluded.clear()
            self.scopes[slot] = FREE
            self.uids[slot] = None
            self.free.append(slot)

    def _add(self, rows: Iterable[tuple[int, str, bytes, str, str]]) -> None:
        rows = list(rows)
        if not rows:
            return
        self.excluded.clear()
        vectors = np.frombuffer(b"".join(row[2] for row in rows), dtype=np.float32)
        vectors = vectors.reshape(len(rows), -1)
        self._reserve(len(rows), vectors.shape[1])
        codes = {name: i for i, name in enumerate(self.scope_names)}
        langs = {name: i for i, name in enumerate(self.language_names)}
        slots: list[int] = []
        for (unit_id, uid, _blob, scope, language), vector in zip(rows, vectors, strict=True):
            if scope not in codes:
                codes[scope] = len(self.scope_names)
                self.scope_names.append(scope)
            if language not in langs:
                langs[language] = len(self.language_names)
                self.language_names.append(language)
            slot = self.free.pop() if self.free else self._next_slot()
            self.matrix[slot] = vector
            self.scopes[slot] = codes[scope]
            self.languages[slot] = langs[language]
            self.uids[slot] = uid
            self.slot_of[unit_id] = slot
            slots.append(slot)
        if self.projection is not None:
            self.projection.put(slots, vectors)

    def _next_slot(self) -> int:
        self.used += 1
        return self.used - 1

    def _reserve(self, count: int, dim: int) -> None:
        needed = self.used + max(0, count - len(self.free))
        capacity = self.matrix.shape[0]
        if needed <= capacity and self.matrix.shape[1] == dim:
            return
        if self.used and self.matrix.shape[1] != dim:  # the store refuses a second model
            raise ValueError(f"vectors of {dim} and {self.matrix.shape[1]} dimensions mixed")
        grown = np.zeros((max(needed, int(capacity * 1.5), 64), dim), dtype=np.float32)
        scopes = np.full(grown.shape[0], FREE, dtype=np.int32)
        languages = np.full(grown.shape[0], FREE, dtype=np.int32)
        if self.used:
            grown[: self.used] = self.matrix[: self.used]
            scopes[: self.used] = self.scopes[: self.used]
            languages[: self.used] = self.languages[: self.used]
        self.matrix, self.scopes, self.languages = grown, scopes, languages
        self.uids += [None] * (grown.shape[0] - len(self.uids))
        if self.projection is not None:
            self.projection.grow(grown.shape[0])

    def search(
        self,
        query: Vector,
        limit: int,
        scopes: Sequence[str],
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]:
        """`languages`: only units of these languages (None: any), filtered before the cut."""
        return self.search_many([query], limit, scopes, languages)[0]

    def search_many(
        self,
        queries: Sequence[Vector],
        limit: int,
        scopes: Sequence[str],
        languages: Sequence[str] | None = None,
    ) -> list[list[ScoredId]]:
        """One ranked list per query, from one pass over the rows (see `search`)."""
        key: FilterKey = (frozenset(scopes), None if languages is None else frozenset(languages))
        if not queries or not self.slot_of or limit <= 0 or not self.scope_names or not key[0]:
            return [[] for _ in queries]
        excluded, excluded_count = self._excluded(key)
        visible = self.used - excluded_count
        count = min(limit, visible)
        if count <= 0:
            return [[] for _ in queries]
        vectors = [np.ascontiguousarray(q, dtype=np.float32) for q in queries]
        keep = candidate_count(count)
        if self._projects() and visible > keep:
            return self._search_candidates(vectors, excluded, count, keep)
        all_scores = self._scores(vectors)
        found: list[list[ScoredId]] = []
        for scores in all_scores:
            # Holes and others' rows never compete for the top, nor rows of other languages.
            scores[excluded] = -np.inf
            top = np.argpartition(-scores, count - 1)[:count]
            ordered = top[np.argsort(-scores[top], kind="stable")]
            found.append([ScoredId(str(self.uids[i]), float(scores[i])) for i in ordered])
        return found

    def _projects(self) -> bool:
        start = self.projection_from
        if not start or self.used < start:
            return False
        return projectable(self.matrix.shape[1])

    def _search_candidates(
        self,
        queries: Sequence[npt.NDArray[np.float32]],
        excluded: npt.NDArray[np.bool_],
        count: int,
        keep: int,
    ) -> list[list[ScoredId]]:
        """`search_many` of a large matrix: the `keep` best visible rows by their projected
        scores, then the best `count` of them by their exact scores."""
        if self.projection is None or self.projection.outgrown(self.used):
            self.projection = Projection.fit(self.matrix, self.used)
        picked = self.projection.candidates(queries, self.used, excluded, keep)
        found: list[list[ScoredId]] = []
        for query, slots in zip(queries, picked, strict=True):
            scores = self.matrix[slots] @ query
            top = np.argpartition(-scores, count - 1)[:count]
            ordered = top[np.argsort(-scores[top], kind="stable")]
            found.append([ScoredId(str(self.uids[slots[i]]), float(scores[i])) for i in ordered])
        return found

    def _scores(self, queries: Sequence[Vector]) -> npt.NDArray[np.float32]:
        """(queries, used) cosines. A pass over the contiguous float32 rows is bound by memory
        bandwidth (200 MB per field at 100k units, ~10 ms here): several queries (the question,
        its glossary words, its expansion) are scored block by block, each block read from
        memory once and kept in cache for all of them (2 queries: 25 -> 15 ms at 100k). One
        matrix-vector product per query and block, not a matrix product: OpenBLAS's product
        with 2-4 columns took 40-47 ms here; the scores are `search`'s up to float rounding."""
        rows = self.matrix[: self.used]
        if len(queries) == 1:
            return blocked_scores(rows, queries, max(1, self.used))
        block = max(256, _BLOCK_BYTES // max(1, rows.shape[1] * rows.itemsize))
        return blocked_scores(rows, queries, block)

    def _excluded(self, key: FilterKey) -> _Excluded:
        """A mask of the slots outside `key`'s scopes and languages, holes included, and how
        many they are (cached, least recently used out first)."""
        found = self.excluded.get(key)
        if found is not None:
            self.excluded.move_to_end(key)
            return found
        visible, chosen = key
        wanted = [i for i, name in enumerate(self.scope_names) if name in visible]
        allowed = np.isin(self.scopes[: self.used], wanted)
        if chosen is not None:
            codes = [i for i, name in enumerate(self.language_names) if name in chosen]
            allowed &= np.isin(self.languages[: self.used], codes)
        if len(self.excluded) >= MAX_FILTERS:
            self.excluded.popitem(last=False)
        excluded = ~allowed
        found = self.excluded[key] = (excluded, int(np.count_nonzero(excluded)))
        return found


def stored_vectors(conn: sqlite3.Connection, uids: Sequence[str]) -> dict[str, list[Vector]]:
    found: dict[str, list[Vector]] = {}
    for start in range(0, len(uids), 500):
        chunk = list(uids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        query = f"SELECT uid, vec_code, vec_summary FROM units WHERE uid IN ({marks})"
        for uid, vec_code, vec_summary in conn.execute(query, chunk):
            found[uid] = [from_blob(blob) for blob in (vec_code, vec_summary) if blob]
    return found


LOG_KEEP = 200_000  # changes kept: a reader further behind reads its matrix whole


def trim_log(conn: sqlite3.Connection) -> None:
    """Inside a write transaction: drop all but the last LOG_KEEP changes once the log holds
    twice that, and record how far back it still reaches (`log_floor`)."""
    low, high = conn.execute("SELECT MIN(seq), MAX(seq) FROM vector_changes").fetchone()
    if low is None or high - low < 2 * LOG_KEEP:
        return
    floor = int(high) - LOG_KEEP
    conn.execute("DELETE FROM vector_changes WHERE seq <= ?", (floor,))
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_log_floor', ?)", (str(floor),)
    )
