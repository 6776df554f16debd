"""What a summary is cached under besides its code hash: the version of the prompt that wrote
it (which changes with any text the prompt sends, where long code is cut, the token budget
and the post-processing) and the name of the model, the same on every backend the summaries
run on, and known from the settings without building the LLM."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pytest

from ragcode import app as app_module
from ragcode.app import build_llm, llm_model_name, model_file_name
from ragcode.config import Settings
from ragcode.domain import Record, UnitKind
from ragcode.ingest import questions as questions_module
from ragcode.ingest import summarize
from ragcode.ingest.summarize import (
    POSTPROCESS_VERSION,
    Summarizer,
    build_messages,
    summary_prompt_version,
)
from ragcode.ingest.summary_prompt import (
    DESCRIPTION_PROMPT_VERSION,
    SUMMARY_PROMPT_VERSION,
    SUMMARY_USER,
    prompt_version,
)
from ragcode.llm import weights
from ragcode.llm.bedrock import BedrockLLM
from ragcode.llm.llamacpp import LlamaCppLLM
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, pool_name
from ragcode.llm.protocol import LLM
from ragcode.llm.sagemaker import SageMakerLLM
from ragcode.store.protocol import SummaryOrigin
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit

UNIT = Record("a.py", "f", UnitKind.FUNCTION, "python", 1, 2, "def f(x):\n    return x + 1")


def sent_texts(questions: bool) -> list[str]:
    """The fixed texts of the prompt as sent: system, worked example, and the template."""
    messages = build_messages(UNIT, 1000, questions=questions)
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    return [m.content for m in messages[:3]] + [SUMMARY_USER]


def test_the_version_is_the_hash_of_every_text_the_prompt_sends() -> None:
    """Pins the versions to the prompts: a text added to the prompt or edited without
    entering the version fails here."""
    summary = prompt_version("summary", *sent_texts(questions=True))
    description = prompt_version("description", *sent_texts(questions=False))
    assert (summary, description) == (SUMMARY_PROMPT_VERSION, DESCRIPTION_PROMPT_VERSION)
    assert SUMMARY_PROMPT_VERSION != DESCRIPTION_PROMPT_VERSION


def test_any_edit_of_the_prompt_is_another_version() -> None:
    texts = sent_texts(questions=True)
    original = prompt_version("summary", *texts)
    edits = [
        prompt_version("summary", *texts[:index], edited, *texts[index + 1 :])
        for index, text in enumerate(texts)
        for edited in (text + " ", "x" + text[1:], text.replace("한국어", "영어"))
        if edited != text
    ]
    assert len(edits) >= 2 * len(texts) and len(set(edits)) == len(edits)
    assert original not in edits
    # Moving text from one part to the next is an edit too.
    assert prompt_version("summary", "ab", "c") != prompt_version("summary", "a", "bc")
    assert original.startswith("summary-")


@pytest.mark.parametrize("questions", [True, False])
def test_a_summarizer_writes_under_its_prompt_and_its_models_name(questions: bool) -> None:
    summarizer = Summarizer(
        ScriptedLLM(lambda _: ""), max_tokens=64, max_chars=300, max_code_chars=999,
        questions=questions,
    )  # fmt: skip
    version = summary_prompt_version(
        questions=questions, max_tokens=64, max_chars=300, max_code_chars=999
    )
    assert version.startswith("summary-" if questions else "description-")
    assert summarizer.origin == SummaryOrigin(prompt=version, model="scripted")


def test_every_backend_names_the_model_the_same_way(tmp_path: Path) -> None:
    """A summary is cached under the summarizer's LLM name: the embedded model's background
    batch (what summaries run on) answers to the model's name as its chat side does, and a
    pool of endpoints of one model to that model (workers on several endpoints agree)."""
    embedded = LlamaCppLLM(
        tmp_path / "x.gguf", name="qwen2.5-coder-1.5b", n_ctx=512, n_threads=1, seed=0
    )
    background = embedded.background(slots=2, n_ctx=512)
    remote = [OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", "qwen2.5-coder-7b") for port in (1, 2)]
    bedrock = BedrockLLM("anthropic.claude-3-haiku", "us-east-1", client=object())
    sagemaker = SageMakerLLM("tgi", "us-east-1", model="qwen2.5-coder-7b", client=object())
    named: list[tuple[LLM, str]] = [
        (background, "qwen2.5-coder-1.5b"),
        (LLMPool(remote), "qwen2.5-coder-7b"),
        (remote[0], "qwen2.5-coder-7b"),
        (bedrock, "anthropic.claude-3-haiku"),
        (sagemaker, "qwen2.5-coder-7b"),
        (SageMakerLLM("tgi", "us-east-1", client=object()), "sagemaker:us-east-1:tgi"),
    ]
    version = summary_prompt_version(
        questions=True, max_tokens=64, max_chars=300, max_code_chars=999
    )
    for llm, name in named:
        summarizer = Summarizer(llm, max_tokens=64, max_chars=300, max_code_chars=999)
        assert summarizer.origin == SummaryOrigin(version, name)
    embedded.close()


SETTINGS = {"max_tokens": 192, "max_chars": 400, "max_code_chars": 6000}


@pytest.mark.parametrize("questions", [True, False])
def test_every_setting_that_changes_the_output_changes_the_version(questions: bool) -> None:
    """Where long code is cut changes the prompt's text; the token budget and the length
    bound change the summary: a summary written under other values is not reused."""
    base = summary_prompt_version(questions=questions, **SETTINGS)
    changed = [
        summary_prompt_version(questions=questions, **{**SETTINGS, key: value + 1})
        for key, value in SETTINGS.items()
    ]
    assert len({base, *changed}) == 1 + len(SETTINGS)
    assert base != summary_prompt_version(questions=not questions, **SETTINGS)
    summarizer = Summarizer(ScriptedLLM(lambda _: ""), questions=questions, **SETTINGS)
    assert summarizer.origin.prompt == base


def test_the_post_processing_version_enters_the_prompt_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = summary_prompt_version(questions=True, **SETTINGS)
    monkeypatch.setattr(summarize, "POSTPROCESS_VERSION", POSTPROCESS_VERSION + 1)
    assert summary_prompt_version(questions=True, **SETTINGS) != base


def test_the_post_processing_is_pinned_to_its_version() -> None:
    """An edit of clean_summary (or of what it calls) fails here: bump POSTPROCESS_VERSION
    (summaries cleaned the old way are then written again) and pin the new digest."""
    functions = (
        summarize.clean_summary, summarize._described, summarize._bounded,
        summarize._search_terms, questions_module.clean_questions,
        questions_module.with_questions,
    )  # fmt: skip
    patterns = (
        summarize._PREFIXES, summarize._DETAIL_LABEL, summarize._FENCE, summarize._TERMS,
        summarize._QUESTIONS, questions_module._NUMBERING,
    )  # fmt: skip
    parts = [inspect.getsource(function) for function in functions]
    parts += [pattern.pattern for pattern in patterns]
    parts += [
        str(summarize.MAX_SEARCH_TERMS), str(questions_module.MAX_QUESTIONS),
        questions_module.QUESTIONS_LABEL,
    ]  # fmt: skip
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    assert (POSTPROCESS_VERSION, digest) == (1, "25892524c6acfaf7")


def test_a_pools_name_does_not_depend_on_the_order_of_its_endpoints() -> None:
    def remote(model: str, port: int) -> OpenAICompatLLM:
        return OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", model)

    one = LLMPool([remote("qwen-b", 1), remote("qwen-a", 2), remote("qwen-b", 3)])
    other = LLMPool([remote("qwen-a", 2), remote("qwen-b", 3), remote("qwen-b", 1)])
    assert one.name == other.name == "qwen-a+qwen-b"
    # An endpoint without a model name: the pool's summaries cannot be told apart.
    assert LLMPool([remote("qwen-a", 1), remote("", 2)]).name == ""
    assert pool_name(["b", "a", "b"]) == "a+b" and pool_name([""]) == ""


def test_an_explicit_model_file_is_named_by_its_content(tmp_path: Path) -> None:
    """The file name and a cheap identity of the content: another file under the same name
    is another model; a copy elsewhere (another machine) is the same model."""
    path = tmp_path / "a" / "model.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF" + b"\0" * 100)
    name = model_file_name(path)
    assert name.startswith("model.gguf@104-") and name != "model.gguf"
    copy = tmp_path / "b" / "model.gguf"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    assert model_file_name(copy) == name
    path.write_bytes(b"GGUF" + b"\1" * 100)  # same size, other content
    assert model_file_name(path) != name
    path.write_bytes(b"GGUF" + b"\0" * 101)
    assert model_file_name(path) != name
    assert model_file_name(tmp_path / "missing.gguf") == "missing.gguf"


@pytest.fixture
def no_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Both shipped models count as installed, and assembling one only records its name
    (the LLM objects are built, never loaded)."""
    assembled: list[str] = []

    def assemble(model: weights.ShippedModel, models_dir: Path) -> Path:
        assembled.append(model.name)
        return tmp_path / model.file_name

    monkeypatch.setattr(weights, "is_installed", lambda model: True)
    monkeypatch.setattr(weights, "assemble", assemble)
    return assembled


def configurations(tmp_path: Path) -> dict[str, dict[str, object]]:
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF own weights")
    openai = {"kind": "openai", "url": "http://127.0.0.1:1/v1", "model": "qwen2.5-coder-7b"}
    other = {"kind": "openai", "url": "http://127.0.0.1:2/v1", "model": "llama-3.1-8b"}
    bedrock = {"kind": "bedrock", "region": "us-east-1", "model_id": "anthropic.claude"}
    sagemaker = {"kind": "sagemaker", "region": "us-east-1", "endpoint_name": "tgi"}
    return {
        "sagemaker": {"endpoints": [sagemaker]},
        "sagemaker named": {"endpoints": [{**sagemaker, "model": "qwen2.5-coder-7b"}, openai]},
        "embedded auto": {"model": "auto"},
        "embedded small": {"model": "qwen2.5-coder-0.5b"},
        "embedded file": {"model_path": own},
        "llamacpp endpoint": {"endpoints": [{"kind": "llamacpp", "model": "qwen2.5-coder-0.5b"}]},
        "llamacpp file endpoint": {"endpoints": [{"kind": "llamacpp", "model_path": own}]},
        "openai": {"endpoints": [openai]},
        "pool": {"endpoints": [other, openai, bedrock]},
        "pool reordered": {"endpoints": [bedrock, openai, other]},
        "mixed pool": {"endpoints": [{"kind": "llamacpp", "model": "qwen2.5-coder-1.5b"}, openai]},
    }


def test_the_settings_name_the_model_the_llm_goes_by(tmp_path: Path, no_weights: list[str]) -> None:
    """The indexer's cache lookups name the model from the settings, by the same choice as
    the builder but without building it: no weights are assembled for the name."""
    names = {}
    for label, llm in configurations(tmp_path).items():
        settings = Settings(data_dir=tmp_path / "data", llm=llm)
        name = llm_model_name(settings)
        assert no_weights == [], label
        built = build_llm(settings)
        assert name == built.name, label
        names[label] = name
        no_weights.clear()
        close = getattr(built, "close", None)
        if callable(close):
            close()
    assert names["embedded auto"] == "qwen2.5-coder-1.5b"
    assert names["embedded file"].startswith("own.gguf@")
    assert names["pool"] == names["pool reordered"]
    assert names["pool"] == "anthropic.claude+llama-3.1-8b+qwen2.5-coder-7b"
    assert names["sagemaker"] == "sagemaker:us-east-1:tgi"
    assert names["sagemaker named"] == "qwen2.5-coder-7b"  # one model behind both endpoints


def test_naming_the_model_never_builds_the_llm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model file that does not exist is not read to name it, and nothing is built."""
    monkeypatch.setattr(app_module, "build_llm", lambda _settings: pytest.fail("LLM built"))
    settings = Settings(data_dir=tmp_path, llm={"model_path": tmp_path / "absent.gguf"})
    assert llm_model_name(settings) == "absent.gguf"
