"""A search reads its fused candidates' records after its (scoped) lists: a root made private
in between must not be read back for another user (issue: private by default, nothing of one
user's code reaches another). The real store, encoder and searcher; the store's record read
is wrapped only to make the scope change land at that moment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.domain import StoredRecord, user_scope, visible_scopes

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2
CODE = '''
def compute_shipping_fee(weight_kg, distance_km):
    """Shipping fee from a parcel's weight and the distance."""
    return 3000 + 120 * weight_kg + 15 * distance_km
'''


@pytest.mark.parametrize("read", ["code_hashes", "get_units"])
def test_a_root_made_private_during_a_search_is_not_returned_to_another_user(
    make_app: Callable[..., App], tmp_path: Path, read: str
) -> None:
    """`read`: the candidates' read the change lands in (their code hashes, then the records
    of those returned)."""
    project = tmp_path / "shipping"
    project.mkdir()
    (project / "fees.py").write_text(CODE, encoding="utf-8")
    app = make_app()
    app.indexer.index(project)
    query = "배송비 계산 compute_shipping_fee"
    assert [h.record.title for h in app.searcher.search(query, scopes=visible_scopes(BOB))] == [
        "compute_shipping_fee"
    ]
    (root,) = app.store.roots()
    original = getattr(app.store, read)

    def made_private_meanwhile(
        uids: Sequence[str], scopes: Sequence[str] | None = None
    ) -> dict[str, StoredRecord] | dict[str, str]:
        assert app.store.set_scope(root, user_scope(ALICE)) == 1
        return original(uids, scopes)  # type: ignore[no-any-return]

    setattr(app.store, read, made_private_meanwhile)
    assert app.searcher.search(query, scopes=visible_scopes(BOB)) == []
    setattr(app.store, read, original)
    mine = app.searcher.search(query, scopes=visible_scopes(ALICE))
    assert [h.record.title for h in mine] == ["compute_shipping_fee"]
