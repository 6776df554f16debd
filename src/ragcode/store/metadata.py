"""How both adapters keep a record's metadata: one JSON object of strings per unit row (a TEXT
column in SQLite, `jsonb` in PostgreSQL), and how the `docstring` column of older schemas maps
onto it (SQLite version 4 -> 5, PostgreSQL 2 -> 3)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ragcode.domain import CATEGORY, DOCSTRING, Metadata, UnitKind

# The old column held a FAQ record's category, or a code unit's docstring (document sections,
# pages and paragraphs had none). SQL for PostgreSQL, the same rule as `legacy_key`.
LEGACY_KEY_SQL = f"CASE WHEN kind = '{UnitKind.FAQ}' THEN '{CATEGORY}' ELSE '{DOCSTRING}' END"


def legacy_key(kind: str) -> str:
    """The metadata key of what the old `docstring` column held for a unit of this kind."""
    return CATEGORY if kind == UnitKind.FAQ else DOCSTRING


def to_json(metadata: Mapping[str, str]) -> str:
    # Sorted keys: equal metadata is equal text, whichever order it was built in.
    return json.dumps(dict(metadata), ensure_ascii=False, sort_keys=True)


def from_json(value: object) -> Metadata:
    """Metadata from its JSON text (SQLite) or the object psycopg loads from `jsonb`."""
    data = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(data, dict):
        raise ValueError(f"record metadata is not a JSON object: {value!r}")
    return Metadata({str(key): str(item) for key, item in data.items()})
