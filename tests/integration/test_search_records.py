"""The search drops copies of one code among its candidates by their stored code hashes and
reads whole records only for the hits it returns: the real store, encoder and searcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.domain import StoredRecord

pytestmark = pytest.mark.integration

FEE = '''
def compute_shipping_fee(weight_kg, distance_km):
    """Shipping fee from a parcel's weight and the distance."""
    return 3000 + 120 * weight_kg + 15 * distance_km
'''
OTHERS = '''
def shipping_label(order_id, address):
    """Printable shipping label of an order."""
    return f"{order_id}: {address}"


def shipping_days(distance_km):
    """Days a parcel takes for the distance."""
    return 1 + distance_km // 300


def shipping_weight_limit(kind):
    """Heaviest parcel accepted for a kind of shipping."""
    return {"express": 20, "normal": 30}.get(kind, 10)
'''


def test_copies_of_one_code_come_back_once_and_only_hits_are_read_whole(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    project = tmp_path / "shipping"
    project.mkdir()
    (project / "fees.py").write_text(FEE, encoding="utf-8")
    # The same function in another file (the file differs, so it is indexed on its own).
    (project / "fees_copy.py").write_text("# copied from fees.py\n" + FEE, encoding="utf-8")
    (project / "other.py").write_text(OTHERS, encoding="utf-8")
    app = make_app()
    app.indexer.index(project)
    read: list[list[str]] = []
    read_records = app.store.get_units

    def recorded(
        uids: Sequence[str], scopes: Sequence[str] | None = None
    ) -> dict[str, StoredRecord]:
        read.append(list(uids))
        return read_records(uids, scopes)

    app.store.get_units = recorded  # type: ignore[method-assign]
    query = "배송비 계산 compute_shipping_fee shipping"
    everything = app.searcher.search(query, top_k=10)
    titles = [hit.record.title for hit in everything]
    assert titles.count("compute_shipping_fee") == 1, titles
    assert titles[0] == "compute_shipping_fee"
    assert len(titles) == len(set(titles)) == 4  # the three others once each
    # Whole records (code included) for the hits, read in one call of exactly those ids.
    assert everything[0].record.body.strip() == FEE.strip()
    assert len(read) == 1 and len(read[0]) == len(everything)
    # A shorter list keeps the best hits of the longer one, in the same order.
    read.clear()
    best_two = app.searcher.search(query, top_k=2)
    assert [hit.record.title for hit in best_two] == titles[:2]
    assert len(read) == 1 and len(read[0]) == 2
