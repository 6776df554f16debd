"""Composition root: the only place that reads settings and picks adapters."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ragcode.accounts.apikeys import ApiKeyStore
from ragcode.accounts.protocol import AccountStore
from ragcode.chat.code_answer import CodeAssistant
from ragcode.chat.doc_answer import DocumentAssistant, PendingDocuments
from ragcode.chat.modes import ChatModes
from ragcode.config import (
    DocumentSettings,
    GenerationSettings,
    LlmEndpoint,
    LlmSettings,
    Settings,
)
from ragcode.documents.attribution import SentenceAttributor
from ragcode.documents.parse import DocumentParser
from ragcode.documents.read import DocumentReader, read_documents
from ragcode.documents.scan import scan_documents
from ragcode.documents.summary import DocumentSummarizer, SummaryLimits
from ragcode.documents.texts import DocumentTexts
from ragcode.embeddings import local, local_e5
from ragcode.embeddings.bedrock import TitanEmbedder
from ragcode.embeddings.local import LocalEmbedder
from ragcode.embeddings.local_e5 import E5Embedder
from ragcode.embeddings.openai_compat import OpenAICompatEmbedder
from ragcode.embeddings.protocol import Embedder
from ragcode.embeddings.sagemaker import SageMakerEmbedder
from ragcode.events.protocol import EventBus
from ragcode.history.protocol import HistoryStore
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.files import FileLimits
from ragcode.ingest.indexer import Indexer
from ragcode.ingest.summarize import Summarizer, summary_prompt_version
from ragcode.ingest.summary_runner import ClaimPolicy, SummaryRunner
from ragcode.limits.protocol import AttemptCounter
from ragcode.llm import weights
from ragcode.llm.bedrock import BedrockLLM
from ragcode.llm.han_repair import HanRepairLLM
from ragcode.llm.llamacpp import LlamaCppLLM
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, PoolPolicy, pool_name
from ragcode.llm.protocol import LLM
from ragcode.llm.sagemaker import SageMakerLLM
from ragcode.repos.protocol import RepoRegistry
from ragcode.repos.sources import REPOS_DIR, RepoSources
from ragcode.repos.sync import GitOptions, RepoSyncer
from ragcode.retrieve.expand import ExpansionSettings, QueryExpander
from ragcode.retrieve.expansion_prompts import (
    CODE_EXPANSION,
    DOCUMENT_EXPANSION,
    ExpansionPrompt,
)
from ragcode.retrieve.glossary import GlossaryExpander, build_glossary_expander
from ragcode.retrieve.hybrid import HybridSearcher
from ragcode.store.protocol import CodeStore, StoreError, SummaryOrigin
from ragcode.store.sqlite_store import DEFAULT_COLLECTION, SqliteStore
from ragcode.text.analyzer import TextAnalyzer
from ragcode.uploads.pending import RegistryPendingDocuments
from ragcode.uploads.protocol import UPLOADS_DIR, UploadRegistry

log = logging.getLogger(__name__)
TunedSettings = TypeVar("TunedSettings", GenerationSettings, DocumentSettings)

# The user-facing start of the line logged when the model that writes summaries is unknown.
UNVOUCHED = "요약을 쓸 모델을 알 수 없어, 어느 모델이 쓴 요약인지 보증할 수 없으므로"
INDEX_FILE = "index.sqlite3"
WEB_DB = "web.sqlite3"  # embedded: accounts, sessions, chat history, uploaded documents
REPOS_DB = "repos.sqlite3"  # embedded: the registered git repositories (`ragcode repo`)
_POSTGRES_EXTRA = (
    "PostgreSQL 저장소(store.url)에는 psycopg 와 pgvector 가 필요합니다: "
    "pip install 'ragcode[postgres]'"
)


def build_store(settings: Settings, collection: str = DEFAULT_COLLECTION) -> CodeStore:
    """One collection of the configured knowledge store (`[store] url` picks PostgreSQL)."""
    if settings.store.url:
        try:  # the `postgres` extra, loaded only when configured
            from ragcode.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(_POSTGRES_EXTRA) from exc
        return PostgresStore(settings.store.url, collection=collection)
    return SqliteStore(
        settings.data_dir / INDEX_FILE,
        collection=collection,
        lexical_engine=settings.store.lexical_engine,
        projected_vectors_from=settings.store.projected_vectors_from,
    )


@dataclass(slots=True)
class WebStores:
    """What the web app keeps besides the knowledge store: one database for all of it (the
    embedded SQLite file, or the PostgreSQL database every replica shares)."""

    accounts: AccountStore
    history: HistoryStore
    registry: UploadRegistry
    login_attempts: AttemptCounter
    signup_attempts: AttemptCounter
    events: EventBus
    api_keys: ApiKeyStore  # the OpenAI-compatible API's keys, next to the accounts
    api_requests: AttemptCounter  # requests per API key (rate limit)

    def pending_documents(self) -> PendingDocuments:
        """Document uploads not searchable yet: document Q&A names them, not "no answer"."""
        return RegistryPendingDocuments(self.registry)

    def close(self) -> None:
        self.events.close()
        for closable in (
            self.accounts, self.history, self.registry, self.login_attempts,
            self.signup_attempts, self.api_keys, self.api_requests,
        ):  # fmt: skip
            closable.close()


def build_accounts(settings: Settings) -> AccountStore:
    """The accounts alone (`ragcode user ...`)."""
    if settings.store.url:
        from ragcode.accounts.postgres import PostgresAccounts

        return PostgresAccounts(settings.store.url)
    from ragcode.accounts.sqlite import SqliteAccounts

    return SqliteAccounts(settings.data_dir / WEB_DB)


def build_api_keys(settings: Settings) -> ApiKeyStore:
    """The API keys alone (`ragcode apikey ...`); open the accounts first (their table)."""
    if settings.store.url:
        from ragcode.accounts.apikeys_postgres import PostgresApiKeys

        return PostgresApiKeys(settings.store.url)
    from ragcode.accounts.apikeys_sqlite import SqliteApiKeys

    return SqliteApiKeys(settings.data_dir / WEB_DB)


def build_web_stores(settings: Settings) -> WebStores:
    server = settings.server
    api = settings.api
    url = settings.store.url
    if url:
        try:
            from ragcode.events.postgres import PostgresEvents
            from ragcode.history.postgres import PostgresHistory
            from ragcode.limits.postgres import PostgresAttempts
            from ragcode.uploads.postgres import PostgresRegistry
        except ImportError as exc:
            raise StoreError(_POSTGRES_EXTRA) from exc
        return WebStores(
            accounts=build_accounts(settings), history=PostgresHistory(url),
            registry=PostgresRegistry(url),
            login_attempts=PostgresAttempts(url, "login", server.login_window_s),
            signup_attempts=PostgresAttempts(url, "signup", server.signup_window_s),
            events=PostgresEvents(url), api_keys=build_api_keys(settings),
            api_requests=PostgresAttempts(url, "api", api.window_s),
        )  # fmt: skip
    from ragcode.events.local import LocalEvents
    from ragcode.history.sqlite import SqliteHistory
    from ragcode.limits.memory import AttemptLimiter
    from ragcode.uploads.sqlite import SqliteRegistry

    database = settings.data_dir / WEB_DB
    return WebStores(
        accounts=build_accounts(settings), history=SqliteHistory(database),
        registry=SqliteRegistry(database),
        login_attempts=AttemptLimiter(server.login_window_s),
        signup_attempts=AttemptLimiter(server.signup_window_s),
        events=LocalEvents(), api_keys=build_api_keys(settings),
        api_requests=AttemptLimiter(api.window_s),
    )  # fmt: skip


def build_repo_registry(settings: Settings) -> RepoRegistry:
    """The registered git repositories, in the database of the knowledge store."""
    if settings.store.url:
        try:
            from ragcode.repos.postgres import PostgresRepos
        except ImportError as exc:
            raise StoreError(_POSTGRES_EXTRA) from exc
        return PostgresRepos(settings.store.url)
    from ragcode.repos.sqlite import SqliteRepos

    return SqliteRepos(settings.data_dir / REPOS_DB)


def build_repo_sources(app: App, registry: RepoRegistry) -> RepoSources:
    """`ragcode repo ...` on an app's index: each repository under its own root."""
    settings = app.settings
    git = GitOptions(binary=settings.repos.git, timeout_s=settings.repos.timeout_s)
    syncer = RepoSyncer(registry, app.indexer, app.store, _file_limits(settings), git)
    return RepoSources(registry, app.store, syncer, settings.data_dir / REPOS_DIR)


def _file_limits(settings: Settings) -> FileLimits:
    index = settings.index
    return FileLimits(max_bytes=index.max_file_bytes, max_line_length=index.max_line_length)


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept (shared by replicas on several machines)."""
    return settings.server.uploads_dir or settings.data_dir / UPLOADS_DIR


def model_file_name(path: Path) -> str:
    """The model name of an explicit GGUF file (`model_path`): its file name and a short
    identity of its content, its size and a hash of its first MiB (the GGUF header: the
    architecture, name, quantization, tokenizer), cheap to read and the same for a copy on
    another machine, so that another file under the same name is another model in the summary
    cache. The bare file name when it cannot be read (it will not load either)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return path.name
    return f"{path.name}@{size}-{hashlib.sha256(head).hexdigest()[:8]}"


def _embedded_llm(settings: Settings, model_path: Path | None, model_name: str | None) -> LLM:
    llm = settings.llm
    if model_path is not None:
        return LlamaCppLLM(
            model_path, name=model_file_name(model_path), n_ctx=llm.n_ctx,
            n_threads=llm.n_threads, seed=llm.seed, suppress_han=llm.suppress_han,
        )  # fmt: skip
    model = weights.choose_model(model_name or llm.model)
    path = weights.assemble(model, settings.data_dir / "models")
    return LlamaCppLLM(
        path, name=model.name, n_ctx=llm.n_ctx, n_threads=llm.n_threads, seed=llm.seed,
        suppress_han=llm.suppress_han,
    )  # fmt: skip


def _embedded_name(settings: Settings, model_path: Path | None, model_name: str | None) -> str:
    """`_embedded_llm`'s name, by the same choice, with no weights assembled or loaded."""
    if model_path is not None:
        return model_file_name(model_path)
    return weights.choose_model(model_name or settings.llm.model).name


def _endpoint_name(settings: Settings, profile: LlmEndpoint) -> str:
    """`_endpoint_llm`'s name (`LLM.name` of each adapter), without building it."""
    if profile.kind == "llamacpp":
        return _embedded_name(settings, profile.model_path, profile.model)
    if profile.kind == "bedrock":
        return profile.model_id or ""
    if profile.kind == "sagemaker":
        return profile.model or f"sagemaker:{profile.region}:{profile.endpoint_name}"
    return profile.model or ""


def llm_model_name(settings: Settings) -> str:
    """The name `build_llm(settings)` goes by, read from the settings: nothing is built, no
    weights are assembled or loaded (the indexer's summary-cache lookups need only the name).
    Raises what choosing the model raises (no weights installed). tests/unit/
    test_summary_origin.py checks it against the built LLM for every kind of configuration."""
    llm = settings.llm
    if not llm.endpoints:
        return _embedded_name(settings, llm.model_path, None)
    names = [_endpoint_name(settings, profile) for profile in llm.endpoints]
    if len(names) == 1 and llm.endpoints[0].kind == "llamacpp":
        return names[0]
    return pool_name(names)


def _endpoint_llm(settings: Settings, profile: LlmEndpoint) -> LLM:
    if profile.kind == "llamacpp":
        return _embedded_llm(settings, profile.model_path, profile.model)
    remote = _remote_llm(profile)
    # A remote tokenizer is unknown here, so ideographs cannot be banned by token id as in
    # the embedded model: they are repaired in the stream instead.
    return HanRepairLLM(remote) if settings.llm.suppress_han else remote


def _remote_llm(profile: LlmEndpoint) -> LLM:
    if profile.kind == "bedrock":
        return BedrockLLM(
            profile.model_id or "", profile.region or "", max_tokens=profile.max_tokens,
            max_concurrency=profile.max_concurrency, timeout_s=profile.timeout_s,
        )  # fmt: skip
    if profile.kind == "sagemaker":
        return SageMakerLLM(
            profile.endpoint_name or "", profile.region or "", model=profile.model,
            streaming=profile.stream, max_tokens=profile.max_tokens,
            max_concurrency=profile.max_concurrency, timeout_s=profile.timeout_s,
        )  # fmt: skip
    return OpenAICompatLLM(
        profile.url or "", profile.model or "", api_key=profile.resolved_api_key(),
        timeout_s=profile.timeout_s, connect_timeout_s=min(profile.timeout_s, 10.0),
        max_concurrency=profile.max_concurrency, max_tokens=profile.max_tokens,
    )  # fmt: skip


def build_llm(settings: Settings) -> LLM:
    """No endpoints: the embedded model; one local llama.cpp endpoint: that model; otherwise a
    pool, so that even a single remote endpoint gets retry with backoff on throttling."""
    llm = settings.llm
    if not llm.endpoints:
        return _embedded_llm(settings, llm.model_path, None)
    adapters = [_endpoint_llm(settings, profile) for profile in llm.endpoints]
    if len(adapters) == 1 and llm.endpoints[0].kind == "llamacpp":
        return adapters[0]
    policy = PoolPolicy(
        strategy=llm.strategy, max_attempts=llm.max_attempts, backoff_base_s=llm.backoff_base_s,
        backoff_max_s=llm.backoff_max_s, failure_threshold=llm.failure_threshold,
        cooldown_s=llm.cooldown_s,
    )  # fmt: skip
    return LLMPool(adapters, policy)


def build_embedder(settings: Settings) -> Embedder:
    embeddings = settings.embeddings
    if embeddings.mode == "openai":
        return OpenAICompatEmbedder(
            embeddings.url or "", embeddings.model or "", api_key=embeddings.resolved_api_key(),
            dimensions=embeddings.dimensions, batch_size=embeddings.batch_size,
            timeout_s=embeddings.timeout_s,
        )  # fmt: skip
    if embeddings.mode == "bedrock":
        return TitanEmbedder(
            embeddings.region or "", model_id=embeddings.model_id,
            dimensions=embeddings.dimensions or 1024,
            max_concurrency=embeddings.max_concurrency, timeout_s=embeddings.timeout_s,
        )  # fmt: skip
    if embeddings.mode == "sagemaker":
        return SageMakerEmbedder(
            embeddings.endpoint_name or "", embeddings.region or "",
            dimensions=embeddings.dimensions, batch_size=embeddings.batch_size,
            max_concurrency=embeddings.max_concurrency, timeout_s=embeddings.timeout_s,
        )  # fmt: skip
    return LocalEmbedder(threads=embeddings.threads, batch_size=embeddings.batch_size)


def background_llm(llm: LLM, settings: LlmSettings) -> LLM:
    """What summaries run on: the embedded model decodes several at once on its own context,
    yielding to chat; any other backend is used as it is (a pool spreads calls itself)."""
    if isinstance(llm, LlamaCppLLM):
        return llm.background(
            slots=settings.batch_slots, n_ctx=settings.batch_ctx,
            no_repeat_ngram=settings.batch_no_repeat_ngram,
        )  # fmt: skip
    return llm


class LazyLLM:
    """Builds the LLM on first use (the model loads only when there is work for it).

    The first chat requests of a fresh server arrive together: without the lock each would
    load its own copy of the model (hundreds of MB to GBs of RAM) and all but one leak."""

    def __init__(self, factory: Callable[[], LLM], *, owned: bool = True) -> None:
        self._factory = factory
        self._owned = owned  # False: the caller's LLM (tests, benches), closed by the caller
        self._llm: LLM | None = None
        self._lock = threading.Lock()

    def get(self) -> LLM:
        llm = self._llm
        if llm is not None:  # loaded: no lock on the hot path
            return llm
        with self._lock:
            if self._llm is None:  # a failed load leaves None: the next call tries again
                self._llm = self._factory()
            return self._llm

    @property
    def loaded(self) -> LLM | None:
        """The LLM when built already, else None: building nothing (for status reads on the
        event loop, where loading the embedded model would stall every socket)."""
        return self._llm

    def close(self) -> None:
        """Stop what the LLM runs in the background (the embedded model's batch thread)."""
        with self._lock:
            llm = self._llm if self._owned else None
        close = getattr(llm, "close", None)
        if callable(close):
            close()


@dataclass(slots=True)
class DocumentIndex:
    """The documents part: its own collection in the same index file (`ragcode docs`)."""

    collection: str
    store: CodeStore
    indexer: Indexer
    searcher: HybridSearcher
    retry_relevance: float | None  # see DocumentAssistant
    read: DocumentReader  # an upload's documents as indexing reads them (summaries)
    attributor: SentenceAttributor  # [n] for the sentences the model left unmarked


def build_glossary(settings: Settings, analyzer: TextAnalyzer) -> GlossaryExpander | None:
    """The no-model expansion of code questions (None when switched off)."""
    if not settings.search.glossary_expansion:
        return None
    return build_glossary_expander(analyzer, settings.search.glossary_file)


def build_expander(settings: Settings, llm: LazyLLM, prompt: ExpansionPrompt) -> QueryExpander:
    timeout = ExpansionSettings(timeout_s=settings.search.expansion_timeout_s)
    return QueryExpander(llm.get, prompt, timeout)


# Document relevance cut-offs per embedding model, calibrated on eval/bank_faq_ko.jsonl: the
# cosine scales differ (e5 puts unrelated Korean sentences near 0.8, USE near 0.2).
DOCUMENT_CUTOFFS = {local_e5.MODEL_NAME: 0.86, local.MODEL_NAME: 0.30}
DEFAULT_DOCUMENT_CUTOFF = 0.30
# Above these, a refusal of the LLM is retried once (documents.answer_retry_relevance): on
# that set every unanswerable question scored below 0.90, most refused answerable ones above.
DOCUMENT_RETRY = {local_e5.MODEL_NAME: 0.90}


def document_embedder(settings: Settings, code_embedder: Embedder) -> Embedder:
    if settings.embeddings.mode == "local" and settings.documents.local_embedder == "e5":
        return E5Embedder()
    return code_embedder


def build_documents(
    settings: Settings, analyzer: TextAnalyzer, embedder: Embedder, llm: LazyLLM
) -> DocumentIndex:
    docs = settings.documents
    min_relevance = docs.min_relevance
    if min_relevance is None:
        min_relevance = DOCUMENT_CUTOFFS.get(embedder.name, DEFAULT_DOCUMENT_CUTOFF)
    store = build_store(settings, docs.collection)
    builder = EntryBuilder(analyzer, embedder, collection=docs.collection, texts=DocumentTexts())
    limits, parser = FileLimits(max_bytes=docs.max_file_bytes), DocumentParser(docs)
    indexer = Indexer(
        store, builder, limits, scan=scan_documents, parse=parser, summaries=False,
        private_dir=settings.data_dir,
    )  # fmt: skip
    # Documents keep uniform list weights: the code weights favour LLM summaries they lack.
    search = settings.search.model_copy(
        update={
            "min_relevance": min_relevance, "rrf_k": docs.rrf_k,
            "list_weights": {}, "fused_weight": 0.8, "rerank_weight": 1.0,
            "expand_query": settings.search.expand_query and docs.expand_query,
            "expansion_lexical_fields": ("identifiers", "code"),
        }
    )  # fmt: skip
    expander = build_expander(settings, llm, DOCUMENT_EXPANSION)
    searcher = HybridSearcher(store, analyzer, embedder, search, expander)
    retry = docs.answer_retry_relevance
    if retry is None:
        retry = DOCUMENT_RETRY.get(embedder.name)
    read = functools.partial(read_documents, parse=parser, limits=limits)
    attributor = SentenceAttributor(analyzer, embedder)
    return DocumentIndex(docs.collection, store, indexer, searcher, retry, read, attributor)


@dataclass(slots=True)
class App:
    settings: Settings
    store: CodeStore
    analyzer: TextAnalyzer
    embedder: Embedder
    indexer: Indexer
    summaries: SummaryRunner
    searcher: HybridSearcher
    llm: LazyLLM
    docs: DocumentIndex

    def code_assistant(self, settings: GenerationSettings | None = None) -> CodeAssistant:
        return CodeAssistant(
            self.llm.get(), self.searcher, settings or self.settings.generation, symbols=self.store
        )

    def document_assistant(
        self, settings: DocumentSettings | None = None, pending: PendingDocuments | None = None
    ) -> DocumentAssistant:
        """`pending`: the web app's uploads not searchable yet (named instead of "no answer")."""
        return DocumentAssistant(
            self.llm.get, self.docs.searcher, settings or self.settings.documents,
            self.docs.retry_relevance, pending, self.docs.attributor,
        )  # fmt: skip

    def document_summarizer(self) -> DocumentSummarizer:
        """Summaries of uploaded documents, on the background LLM (chat comes first)."""
        return DocumentSummarizer(
            lambda: background_llm(self.llm.get(), self.settings.llm),
            SummaryLimits(max_parts=self.settings.documents.summary_max_parts),
        )

    def chat_modes(
        self,
        max_tokens: int | None = None,
        temperature: float | None = None,
        pending: PendingDocuments | None = None,
    ) -> ChatModes:
        """Every chat mode of the web app (`conv_type`), on this app's LLM and searchers.
        `max_tokens`/`temperature`: a client's choice (OpenAI API); the token budgets only
        go down, so a client cannot make one answer hold the model longer than configured."""
        generation = _tuned(self.settings.generation, max_tokens, temperature)
        documents = _tuned(self.settings.documents, max_tokens, temperature)
        chat_tokens = self.settings.server.chat_max_tokens
        return ChatModes(
            self.llm.get, lambda: self.code_assistant(generation),
            lambda: self.document_assistant(documents, pending),
            max_tokens=min(chat_tokens, max_tokens or chat_tokens),
            mode_max_tokens=self.settings.server.mode_max_tokens,
            temperature=generation.temperature, history_turns=generation.history_turns,
        )  # fmt: skip

    def close(self) -> None:
        self.llm.close()
        self.store.close()
        self.docs.store.close()


def _tuned(
    settings: TunedSettings, max_tokens: int | None, temperature: float | None
) -> TunedSettings:
    """`settings` with a request's answer budget (never above the configured) and temperature."""
    update: dict[str, object] = {}
    if max_tokens is not None:
        update["max_answer_tokens"] = min(max_tokens, settings.max_answer_tokens)
    if temperature is not None:
        update["temperature"] = temperature
    return settings.model_copy(update=update) if update else settings


def build_app(settings: Settings, llm: LLM | None = None, embedder: Embedder | None = None) -> App:
    """Wire the embedded product; `llm`/`embedder` replace the configured ones (tests, benches)."""
    data_dir: Path = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = build_store(settings)
    analyzer = TextAnalyzer()
    embedder = embedder or build_embedder(settings)
    builder = EntryBuilder(analyzer, embedder)
    limits = _file_limits(settings)
    index_settings = settings.index
    lazy_llm = LazyLLM(lambda: llm if llm is not None else build_llm(settings), owned=llm is None)

    def make_summarizer() -> Summarizer:
        return Summarizer(
            background_llm(lazy_llm.get(), settings.llm),
            max_tokens=index_settings.summary_max_tokens,
            max_chars=index_settings.summary_max_chars,
            max_code_chars=index_settings.summary_code_chars,
            questions=index_settings.summary_questions,
        )

    def summary_origin() -> SummaryOrigin | None:
        """What summaries are written with now, for the indexer's cache lookups: read from
        the settings, the LLM is not built (nor its weights assembled) to name its model."""
        try:
            model = llm.name if llm is not None else llm_model_name(settings)
        except Exception as exc:  # no weights installed, a model that cannot be chosen
            log.warning("%s 캐시된 요약을 재사용하지 않습니다: %s", UNVOUCHED, exc)
            return None
        if not model:  # an endpoint with no model name: its summaries cannot be told apart
            log.warning("%s 요약 캐시를 쓰지 않습니다: LLM 모델 이름이 비어 있습니다", UNVOUCHED)
            return None
        prompt = summary_prompt_version(
            questions=index_settings.summary_questions,
            max_tokens=index_settings.summary_max_tokens,
            max_chars=index_settings.summary_max_chars,
            max_code_chars=index_settings.summary_code_chars,
        )
        return SummaryOrigin(prompt=prompt, model=model)

    code_expander = build_expander(settings, lazy_llm, CODE_EXPANSION)
    claims = ClaimPolicy(lease_s=settings.worker.lease_s, batch=settings.worker.batch)
    summaries = SummaryRunner(store, builder, make_summarizer, claims)
    indexer = Indexer(
        store, builder, limits, private_dir=data_dir,
        summary_origin=summary_origin if index_settings.summaries else None,
    )  # fmt: skip
    return App(
        settings=settings,
        store=store,
        analyzer=analyzer,
        embedder=embedder,
        indexer=indexer,
        summaries=summaries,
        searcher=HybridSearcher(
            store,
            analyzer,
            embedder,
            settings.search,
            code_expander,
            glossary=build_glossary(settings, analyzer),
        ),
        llm=lazy_llm,
        docs=build_documents(settings, analyzer, document_embedder(settings, embedder), lazy_llm),
    )
