"""The model loads once under concurrent first requests; weight assembly is safe across
threads and processes (fake part packages: small files, same code path as the real ones)."""

from __future__ import annotations

import hashlib
import multiprocessing
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragcode.app import LazyLLM
from ragcode.llm import weights
from ragcode.llm.protocol import LLM, LLMError
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit
PARTS = 4
PART_BYTES = 300_000


def test_lazy_llm_loads_once_under_concurrency() -> None:
    calls: list[int] = []

    def factory() -> LLM:
        calls.append(1)
        time.sleep(0.2)  # a model load takes a while: every first request overlaps it
        return ScriptedLLM(lambda m: "답")

    lazy = LazyLLM(factory)
    start = threading.Barrier(8)

    def first_request() -> LLM:
        start.wait()
        return lazy.get()

    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: first_request(), range(8)))
    assert len(calls) == 1
    assert all(llm is loaded[0] for llm in loaded)


def test_lazy_llm_retries_after_a_failed_load() -> None:
    attempts: list[int] = []

    def factory() -> LLM:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("모델 파일이 없습니다")
        return ScriptedLLM(lambda m: "답")

    lazy = LazyLLM(factory)
    with pytest.raises(RuntimeError):
        lazy.get()
    assert lazy.get() is lazy.get() and len(attempts) == 2


class SlowParts:
    """The parts of a fake shipped model; every read pauses, so writers interleave."""

    def __init__(self, directory: Path) -> None:
        self.paths = []
        for index in range(1, PARTS + 1):
            path = directory / f"part{index:02d}.bin"
            path.write_bytes(bytes([index]) * PART_BYTES)
            self.paths.append(path)
        self.opened = 0
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in self.paths)).hexdigest()
        self.expected = b"".join(p.read_bytes() for p in self.paths)
        self.model = weights.ShippedModel(
            name="fake", file_name="fake.gguf",
            part_modules=tuple(f"ragcode_fake_part{i}" for i in range(1, PARTS + 1)),
            part_path=self.part_path, sha256_prefix=digest[:8], sha256_suffix=digest[-4:],
            install_hint="pip install fake",
        )  # fmt: skip

    def part_path(self, module: object, index: int) -> Path:
        self.opened += 1
        time.sleep(0.05)
        return self.paths[index - 1]


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[SlowParts]:
    names = [f"ragcode_fake_part{i}" for i in range(1, PARTS + 1)]
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    (tmp_path / "parts").mkdir()
    yield SlowParts(tmp_path / "parts")
    for name in names:
        sys.modules.pop(name, None)


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name not in {"fake.gguf", "fake.gguf.lock"})


def test_concurrent_assembly_in_threads_gives_one_whole_file(
    tmp_path: Path, parts: SlowParts
) -> None:
    models = tmp_path / "models"
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(lambda _: weights.assemble(parts.model, models), range(4)))
    assert paths == [models / "fake.gguf"] * 4
    assert (models / "fake.gguf").read_bytes() == parts.expected
    assert parts.opened == PARTS  # one writer assembled; the others waited and reused it
    assert leftovers(models) == []


def _assemble_in_child(parts: SlowParts, models: Path) -> None:
    weights.assemble(parts.model, models)


def test_concurrent_assembly_in_processes_gives_one_whole_file(
    tmp_path: Path, parts: SlowParts
) -> None:
    models = tmp_path / "models"
    context = multiprocessing.get_context("fork")  # children inherit the fake part modules
    children = [context.Process(target=_assemble_in_child, args=(parts, models)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert (models / "fake.gguf").read_bytes() == parts.expected
    assert leftovers(models) == []


def test_a_dead_writers_partial_file_is_cleared(tmp_path: Path, parts: SlowParts) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / ".fake.gguf.x1y2z3.partial").write_bytes(b"half a model")
    assert weights.assemble(parts.model, models).read_bytes() == parts.expected
    assert leftovers(models) == []


def test_a_bad_checksum_leaves_nothing(tmp_path: Path, parts: SlowParts) -> None:
    models = tmp_path / "models"
    broken = weights.ShippedModel(
        name="fake", file_name="fake.gguf", part_modules=parts.model.part_modules,
        part_path=parts.part_path, sha256_prefix="00000000", sha256_suffix="0000",
        install_hint="",
    )  # fmt: skip
    with pytest.raises(LLMError, match="체크섬"):
        weights.assemble(broken, models)
    assert not (models / "fake.gguf").exists() and leftovers(models) == []
