"""The embedded store's projected candidates on real code and the real encoder: a store set
to project from a few hundred vectors (`store.projected_vectors_from`, 50,000 by default)
answers as the exact scan does, and a file written after the projection was fitted is found.
"""

from __future__ import annotations

import email
import json
import shutil
from pathlib import Path

import pytest

from ragcode.app import build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.store import vector_projection

pytestmark = pytest.mark.integration

QUESTIONS = [
    "JSON 문자열을 파이썬 객체로 바꾸는 함수",
    "이메일 헤더를 파싱하는 코드",
    "첨부 파일의 인코딩을 정하는 방법",
    "decode a quoted printable body",
    "들여쓰기를 넣어서 보기 좋게 출력하기",
    "메일 주소 목록을 나누기",
]


def test_projected_candidates_answer_as_the_exact_scan(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_projection, "MIN_CANDIDATES", 60)
    project = tmp_path / "project"
    for package in (json, email):
        assert package.__file__ is not None
        shutil.copytree(Path(package.__file__).parent, project / package.__name__)
    settings = {
        # FTS5: no tantivy build thread, which a test of vectors does not need.
        name: Settings(
            data_dir=tmp_path / "data",
            store={"projected_vectors_from": start, "lexical_engine": "fts5"},
        )
        for name, start in (("projected", 200), ("exact", 0))
    }
    projected = build_app(settings["projected"], embedder=embedder)
    exact = build_app(settings["exact"], embedder=embedder)
    try:
        projected.indexer.index(project)
        units = projected.store.status().units
        assert units > 500, units  # the candidates (60 <= 20 x 3) are a small share of them
        vectors = embedder.embed(QUESTIONS)
        same = 0
        for vector in vectors:
            mine = projected.store.vector_search_many("code", [vector], 3)[0]
            truth = exact.store.vector_search_many("code", [vector], 3)[0]
            assert [s.uid for s in mine][:1] == [s.uid for s in truth][:1]
            same += [s.uid for s in mine] == [s.uid for s in truth]
            for hit, true_hit in zip(mine, truth, strict=False):
                if hit.uid == true_hit.uid:
                    assert hit.score == pytest.approx(true_hit.score, abs=1e-5)
        assert same >= len(QUESTIONS) - 1
        matrix = projected.store._matrices["code"]  # type: ignore[attr-defined]
        assert matrix.projection is not None  # the candidate path answered

        # A file written after the fit: its unit is projected when the matrix catches up.
        (project / "extra.py").write_text(
            "def send_weekly_newsletter(recipients):\n"
            '    """Send the weekly newsletter e-mail to every recipient."""\n'
            "    for person in recipients:\n"
            "        deliver(person, render_newsletter())\n",
            encoding="utf-8",
        )
        projected.indexer.index(project)
        (question,) = embedder.embed(["주간 뉴스레터 메일 보내기"])
        hits = projected.store.vector_search_many("code", [question], 5)[0]
        titles = projected.store.get_units([hits[0].uid])
        assert titles[hits[0].uid].record.title == "send_weekly_newsletter"
    finally:
        projected.close()
        exact.close()
