"""One settings model: environment variables (RAGCODE_*, nested with __) and an optional TOML file.

Precedence: explicit arguments > environment > TOML file (``$RAGCODE_CONFIG`` or
``<data dir>/ragcode.toml``) > defaults. The defaults are the embedded product: local model,
local embeddings, local store, one data directory, no API key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragcode.config_files import default_data_dir as default_data_dir
from ragcode.config_files import toml_path
from ragcode.store.protocol import LexicalField

ModelName = Literal["auto", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
# Answer budgets (tokens) of the chat modes other than code and qa, fitted to each task:
# rewriting modes give back about as much as they are given, analyses a few lines.
MODE_MAX_TOKENS: dict[str, int] = {
    "normal": 4096, "translation": 4096, "grammar": 4096, "pii": 4096, "step-by-step": 4096,
    "extraction": 1024, "timestamp-extraction": 512, "sentiment": 256,
}  # fmt: skip


class LlmEndpoint(BaseModel):
    """One LLM endpoint profile of `[[llm.endpoints]]` (docs/configuration.md)."""

    kind: Literal["openai", "bedrock", "llamacpp", "sagemaker"]
    url: str | None = None  # openai: base URL, e.g. "http://127.0.0.1:8011/v1"
    model: str | None = None  # openai: model name sent to the server; llamacpp: shipped name
    # sagemaker: names the model behind the endpoint for the summary cache (not sent)
    api_key: SecretStr | None = None  # openai: optional bearer token
    api_key_env: str | None = None  # openai: read the key from this environment variable
    region: str | None = None  # bedrock, sagemaker: e.g. "ap-northeast-2"
    model_id: str | None = None  # bedrock: e.g. "anthropic.claude-3-5-sonnet-20240620-v1:0"
    model_path: Path | None = None  # llamacpp: a GGUF file of your own
    endpoint_name: str | None = None  # sagemaker: a TGI or LMI endpoint (chat messages API)
    stream: bool = True  # sagemaker: false for a container that cannot stream
    max_tokens: int | None = None  # cap on generated tokens per request at this endpoint
    max_concurrency: int = Field(default=4, ge=1)  # parallel requests (llamacpp: always 1)
    timeout_s: float = Field(default=120.0, gt=0)  # connect is capped at 10 s

    @model_validator(mode="after")
    def _required_fields(self) -> LlmEndpoint:
        if self.kind == "openai" and not (self.url and self.model):
            raise ValueError("openai 엔드포인트에는 url 과 model 이 필요합니다")
        if self.kind == "bedrock" and not (self.region and self.model_id):
            raise ValueError("bedrock 엔드포인트에는 region 과 model_id 가 필요합니다")
        if self.kind == "sagemaker" and not (self.region and self.endpoint_name):
            raise ValueError("sagemaker 엔드포인트에는 region 과 endpoint_name 이 필요합니다")
        return self

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class LlmSettings(BaseModel):
    mode: Literal["llamacpp"] = "llamacpp"
    # "auto" takes the 1.5B model when its packages are installed, else the 0.5B one.
    model: ModelName = "auto"
    model_path: Path | None = None  # a GGUF file of your own; overrides `model`
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    n_ctx: int = 4096
    seed: int = 42
    # Summaries on the embedded model are decoded this many at a time (one decode step costs
    # about the same for 1 or 8 sequences here), sharing a cache of this many tokens.
    batch_slots: int = Field(default=8, ge=1, le=64)
    batch_ctx: int = Field(default=8192, ge=1024)
    # Greedy summaries of a small model loop ("이 함수는 ... 사용됩니다." until the token
    # limit); a token that would repeat an n-gram of this many tokens is not taken (0: off).
    # On 16 toolz units with the 0.5B model: 302 -> 199 tokens per unit, and 13 -> 16 units
    # reaching their search-terms line.
    batch_no_repeat_ngram: int = Field(default=8, ge=0)
    # Qwen drifts into Chinese in Korean text ("요素", "返回"; 13 of 148 toolz summaries of the
    # 1.5B model), and into kana once ideographs are banned: the embedded model never samples
    # tokens that write CJK ideographs, kana or Cyrillic (llm/han_tokens.py).
    suppress_han: bool = True
    # No endpoints: the embedded model above. One: that endpoint. Several: a pool.
    endpoints: list[LlmEndpoint] = Field(default_factory=list)
    strategy: Literal["round_robin", "least_loaded"] = "least_loaded"
    max_attempts: int = Field(default=4, ge=1)  # per request, over all endpoints
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    failure_threshold: int = Field(default=3, ge=1)  # failures in a row before a cool-down
    cooldown_s: float = 30.0


class EmbeddingSettings(BaseModel):
    mode: Literal["local", "openai", "bedrock", "sagemaker"] = "local"
    threads: int = 2
    batch_size: int = 64  # sagemaker TEI: at most its max_client_batch_size (default 32)
    url: str | None = None  # openai: base URL, e.g. "http://127.0.0.1:8012/v1"
    model: str | None = None  # openai: embedding model name
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    dimensions: int | None = None  # openai: asked of the server; bedrock Titan v2: 256/512/1024
    region: str | None = None  # bedrock, sagemaker
    endpoint_name: str | None = None  # sagemaker: a TEI or sentence-transformers endpoint
    model_id: str = "amazon.titan-embed-text-v2:0"  # bedrock
    max_concurrency: int = Field(default=4, ge=1)  # bedrock, sagemaker: parallel calls
    timeout_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _required_fields(self) -> EmbeddingSettings:
        if self.mode == "openai" and not (self.url and self.model):
            raise ValueError("embeddings.mode = openai 에는 url 과 model 이 필요합니다")
        if self.mode == "bedrock" and not self.region:
            raise ValueError("embeddings.mode = bedrock 에는 region 이 필요합니다")
        if self.mode == "sagemaker" and not (self.region and self.endpoint_name):
            raise ValueError(
                "embeddings.mode = sagemaker 에는 region 과 endpoint_name 이 필요합니다"
            )
        return self

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class IndexSettings(BaseModel):
    max_file_bytes: int = 1_000_000
    max_line_length: int = 1000
    # description + distinguishing detail + search terms (+ 90 for the questions line)
    summary_max_tokens: int = 192
    summary_max_chars: int = 400
    summary_code_chars: int = 6000  # longer units are cut before they reach the LLM
    summaries: bool = True
    # The summary also lists the Korean questions a developer would ask (doc2query, in the
    # same call); +0.09 MRR for the vector search on the toolz eval.
    summary_questions: bool = True


# RRF weights of the glossary expansion's lists (search.glossary_*), chosen on toolz: its
# words name the code well (1.5); their embedding, a bag of words, less so (0.5).
GLOSSARY_LEXICAL_LISTS = (
    "glossary-lexical:identifiers",
    "glossary-lexical:code",
    "glossary-lexical:doc",
)
GLOSSARY_VECTOR_LISTS = ("glossary-vector:code", "glossary-vector:summary")


# RRF weight per ranked list ("lexical:summary", "vector:code", ...; absent: 1.0). A Korean
# question matches the Korean summary's morphemes best; code tokens are the noisiest list.
DEFAULT_LIST_WEIGHTS: dict[str, float] = {
    "lexical:summary": 2.0,
    "lexical:code": 0.5,
    **dict.fromkeys(GLOSSARY_LEXICAL_LISTS, 1.5),
    **dict.fromkeys(GLOSSARY_VECTOR_LISTS, 0.5),
}


class SearchSettings(BaseModel):
    top_k: int = 10
    candidates_per_list: int = 50
    rrf_k: int = 60
    rerank_depth: int = 50
    # Hits whose question-to-unit cosine is below this are not shown at all. Off-topic
    # questions stay under ~0.2 with the embedded encoder (eval/toolz_ko.jsonl, last 20 lines).
    min_relevance: float = 0.2
    # final = rerank_weight * cosine(question, stored vectors) + fused_weight * normalised RRF
    fused_weight: float = 1.6
    rerank_weight: float = 1.0
    # RRF weight per ranked list (DEFAULT_LIST_WEIGHTS; absent: 1.0). A configured table is
    # laid over the defaults (`lexical:code = 0.7` keeps the others).
    list_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_LIST_WEIGHTS))
    # Query expansion: one short LLM call adds the English words of the code to a Korean
    # question ("expanded-lexical:<field>", "expanded-vector:<field>" lists); the rerank
    # then uses the question's vector blended with the expansion's. Off, or past the
    # timeout (e.g. while the embedded model writes summaries), search runs without it.
    expand_query: bool = True
    expansion_timeout_s: float = Field(default=30.0, gt=0)  # the first call loads the model
    expansion_lexical_fields: tuple[LexicalField, ...] = ("code", "identifiers")
    expansion_rerank_blend: float = Field(default=0.5, ge=0)
    # No-model expansion: the question's Korean words looked up in a shipped Korean->English
    # programming glossary (retrieve/glossary.py) give "glossary-lexical:<field>" lists and,
    # with `glossary_vector`, "glossary-vector:<field>" lists of the embedded words plus a
    # rerank nudge towards them (`glossary_rerank_blend`). Microseconds and no LLM, so on by
    # default, beside the LLM expansion or alone. Fields, weights and blend were chosen on
    # toolz without summaries (R@5 0.353 -> 0.600). `glossary_file`: a team's own TSV.
    glossary_expansion: bool = True
    glossary_lexical_fields: tuple[LexicalField, ...] = ("identifiers", "code", "doc")
    glossary_vector: bool = True
    glossary_rerank_blend: float = Field(default=0.25, ge=0)
    glossary_file: Path | None = None
    # `ragcode search` asks a resident per-user process that keeps the models loaded
    # (<data dir>/run/search.sock; started in the background by the first search), which
    # exits after this many seconds without a request. false: every search loads them itself.
    daemon: bool = True
    daemon_idle_s: float = Field(default=900.0, gt=0)

    @field_validator("list_weights")
    @classmethod
    def _weights_over_defaults(cls, value: dict[str, float]) -> dict[str, float]:
        return {**DEFAULT_LIST_WEIGHTS, **value}


class GenerationSettings(BaseModel):
    context_tokens: int = 2000  # budget for retrieved code in the prompt
    max_answer_tokens: int = 1024
    temperature: float = 0.2
    history_turns: int = 10  # window memory of the conversation
    check_python: bool = True  # parse generated Python; one repair round on a syntax error
    # Names generated Python, JS/TS or Go code calls must exist (index, builtins, standard
    # library, imports): one repair round offering the closest real symbols, then a note
    # under the answer (chat/grounding*.py).
    check_symbols: bool = True


class DocumentSettings(BaseModel):
    """Document Q&A (`ragcode docs`): its own collection in the same index file."""

    collection: str = Field(default="docs", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # FAQ files (CSV/JSON/JSONL): the first header matching a name (case-insensitive) wins.
    question_columns: list[str] = Field(
        default_factory=lambda: ["질문", "question", "q", "문의", "제목", "title"]
    )
    answer_columns: list[str] = Field(
        default_factory=lambda: ["답변", "answer", "a", "응답", "내용", "content"]
    )
    category_columns: list[str] = Field(default_factory=lambda: ["분류", "category", "카테고리"])
    max_file_bytes: int = 20_000_000  # PDFs and DOCX files are larger than source files
    # A Korean summary of each uploaded document is streamed into the uploader's chat, kept
    # in history and indexed beside the document (at most this many files per upload;
    # a long document in at most `summary_max_parts` parts, summarised together).
    summarize_uploads: bool = True
    summary_max_files: int = Field(default=5, ge=0)
    summary_max_parts: int = Field(default=8, ge=1, le=32)
    chunk_chars: int = Field(default=800, ge=200)  # longer sections are split at paragraphs
    # With local embeddings, documents use multilingual-e5-small ("e5": better on Korean
    # paraphrases, Recall@5 0.95 against 0.92 on eval/bank_faq_ko.jsonl) or the USE encoder
    # of the code index ("use"). Remote embeddings (openai, bedrock) serve documents too.
    local_embedder: Literal["e5", "use"] = "e5"
    # Below this question-to-chunk cosine a chunk is not used; nothing left: "no answer"
    # without an LLM call. None: the value calibrated for the embedding model on
    # eval/bank_faq_ko.jsonl (e5 0.86, USE 0.30; trade-off in eval/README.md).
    min_relevance: float | None = None
    # A small collection: a lower RRF k lets the first ranks of each list count for more.
    rrf_k: int = 10
    # Query expansion with synonyms and official terms (search.expand_query must be on too).
    # Off: on eval/bank_faq_ko.jsonl it lowered Recall@5 (0.917 -> 0.867 with the 1.5B model;
    # the FAQ questions are Korean already, and the model's synonyms drift off topic).
    expand_query: bool = False
    # When the LLM says its documents do not answer although the best one scores at least
    # this cosine, it is asked once more to answer from them (the small model refuses some
    # paraphrased questions its documents answer). None: calibrated per embedding model on
    # eval/bank_faq_ko.jsonl (e5 0.90; no retry for other models); above 1: never.
    answer_retry_relevance: float | None = None
    top_k: int = 4  # chunks given to the LLM
    context_tokens: int = 1500
    max_answer_tokens: int = 400
    temperature: float = 0.1


class StoreSettings(BaseModel):
    """Where the knowledge base lives: the embedded SQLite file in the data directory
    (default), or PostgreSQL + pgvector shared by several processes and machines."""

    # postgresql://user:password@host:5432/db (needs `pip install 'ragcode[postgres]'`)
    url: str | None = None
    # The embedded store's BM25 engine: tantivy indexes derived from the SQLite file and
    # kept beside it (same lists and scores as FTS5, 8x faster searches at 100k units:
    # bench/README.md, issue 13), or FTS5 inside the file. Ignored with `url`.
    lexical_engine: Literal["fts5", "tantivy"] = "tantivy"
    # From this many vectors in a field, the embedded store scores a narrow projected copy
    # first and only the best candidates exactly (97k units of real code: a scan 2.2x faster,
    # the exact top 50 kept for all 30 bench questions; at 26k only 1.5x and 0.98 of the top
    # 50: bench/README.md); 0: always the exact scan. Measured on the local encoder's 512
    # dimensions only: other sizes stay exact. Ignored with `url` (pgvector's HNSW index is
    # approximate already).
    projected_vectors_from: int = Field(default=50_000, ge=0)


class WorkerSettings(BaseModel):
    """Summary runners on the shared queue: `ragcode worker`, and `ragcode index` and the web
    app's ingest thread when they summarize (src/ragcode/ingest/summary_queue.py)."""

    # A claimed unit is this worker's for this long, renewed every third of it while the
    # worker lives; a crashed worker's units go to another one after at most this long.
    lease_s: float = Field(default=60.0, ge=1)
    batch: int | None = Field(default=None, ge=1)  # units per claim; None: 2 x LLM concurrency
    # An idle worker looks at the queue again after idle_min_s, doubling up to idle_max_s.
    idle_min_s: float = Field(default=1.0, gt=0)
    idle_max_s: float = Field(default=30.0, gt=0)


class ServerSettings(BaseModel):
    """`ragcode serve`: the web app. Outside development a secret key must be configured."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    environment: Literal["development", "production"] = "development"
    # Signs session cookies. Development without one: a random key kept in the data dir.
    secret_key: SecretStr | None = None
    cookie_secure: bool = False  # set behind HTTPS
    session_days: int = Field(default=14, ge=1)
    # Failed logins per window: per (user name, client) pair, so that someone else's failures
    # do not lock a user out; per user name over all clients (slower guessing from many
    # addresses); per client over all user names (password spraying).
    login_max_failures: int = Field(default=5, ge=1)
    login_user_max_failures: int = Field(default=50, ge=1)
    login_client_max_failures: int = Field(default=20, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    # Sign-ups per client address per window; off: only `ragcode user add` creates accounts.
    open_signup: bool = True
    signup_max_per_client: int = Field(default=5, ge=1)
    signup_window_s: float = Field(default=600.0, gt=0)
    # Password hashes computed at once, process-wide: each argon2 hash takes 64 MiB.
    max_password_hashes: int = Field(default=2, ge=1)
    # Host headers answered (port ignored). None: the bind host unless it is a wildcard
    # (0.0.0.0, ::), plus localhost, 127.0.0.1 and ::1. Set it when serving on a LAN name.
    allowed_hosts: list[str] | None = None
    # Proxies whose X-Forwarded-For/-Proto are believed. Empty: the socket's peer address
    # is the client (a local process cannot pose as many clients to the login limit).
    trusted_proxies: list[str] = Field(default_factory=list)
    max_message_chars: int = Field(default=8000, ge=1)
    # Conversations one user may keep (more: 409 until one is deleted).
    max_conversations: int = Field(default=500, ge=1)
    # Per user, across all of their sockets: one account must not crowd out the others.
    max_requests_in_flight: int = Field(default=4, ge=1)
    max_sockets_per_user: int = Field(default=5, ge=1)  # one more is closed with 4429
    chat_workers: int = Field(default=8, ge=1)  # answer threads, shared fairly between users
    # A request whose mode yields nothing for this long (a hung model or endpoint) ends with
    # an `llm_timeout` error; generous, since it also covers waiting for the model behind
    # other answers and summaries on the embedded default.
    chat_idle_timeout_s: float = Field(default=300.0, gt=0)
    max_upload_bytes: int = Field(default=20_000_000, ge=1)  # one uploaded file or zip
    # Where uploaded files are kept until they are deleted (default <data dir>/uploads).
    # Replicas on several machines need one shared directory (NFS, a mounted volume): the
    # replica that indexes an upload may not be the one that received it.
    uploads_dir: Path | None = None
    # An upload job is leased to the process indexing it for this long, renewed while it
    # works; a crashed process's uploads are taken over by another after it runs out.
    upload_lease_s: float = Field(default=60.0, gt=0)
    # Summarize uploads in this process (its runner shares the queue with `ragcode worker`s).
    # false: replicas only index; uploads are ready once searchable and workers summarize.
    summarize: bool = True
    # Uploads of one user queued or being indexed/summarized at once (more: 429); bounds how
    # long one user's batch can hold everyone else's uploads back in the single ingest queue.
    max_uploads_in_progress: int = Field(default=3, ge=1)
    max_zip_uncompressed_bytes: int = Field(default=100_000_000, ge=1)
    max_zip_files: int = Field(default=5000, ge=1)
    # The ceiling of every mode's budget below (tests and small machines lower it at once).
    chat_max_tokens: int = Field(default=4096, ge=1)
    # Per mode (`[server.mode_max_tokens] translation = 2048`); modes not given keep theirs.
    # An answer that reaches its budget ends with `"truncated": true` (the web: "계속").
    mode_max_tokens: dict[str, PositiveInt] = Field(default_factory=lambda: dict(MODE_MAX_TOKENS))

    @field_validator("mode_max_tokens")
    @classmethod
    def _over_defaults(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(MODE_MAX_TOKENS))
        if unknown:
            raise ValueError(
                f"server.mode_max_tokens 에 모르는 모드: {', '.join(unknown)} "
                f"(가능: {', '.join(MODE_MAX_TOKENS)})"
            )
        return {**MODE_MAX_TOKENS, **value}

    @model_validator(mode="after")
    def _secret_outside_development(self) -> ServerSettings:
        if self.environment != "development" and self.secret_key is None:
            raise ValueError(
                "server.environment 이 development 가 아니면 server.secret_key "
                "(RAGCODE_SERVER__SECRET_KEY)를 설정해야 합니다"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("server.secret_key 는 32자 이상이어야 합니다")
        return self

    def host_allowlist(self) -> frozenset[str]:
        """Host names (lower case, no port or brackets) the web app answers to."""
        if self.allowed_hosts is not None:
            return frozenset(bare_host(host) for host in self.allowed_hosts)
        local = {"localhost", "127.0.0.1", "::1"}
        bind = bare_host(self.host)
        return frozenset(local if bind in WILDCARD_HOSTS else local | {bind})


class ApiSettings(BaseModel):
    """The OpenAI-compatible API of `ragcode serve` (`/v1`), reached with per-user API keys."""

    # Requests per API key per window (every `/v1` call counts); counted in the database
    # when one is configured, so that replicas count together.
    requests_per_window: int = Field(default=60, ge=1)
    window_s: float = Field(default=60.0, gt=0)
    max_keys_per_user: int = Field(default=20, ge=1)
    # A request body past this is refused (413) before it is parsed: a conversation is text.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class RepoSettings(BaseModel):
    """Git repositories as sources (`ragcode repo ...`): the git binary run for them."""

    git: str = "git"  # the git program (a name on PATH or a full path)
    timeout_s: float = Field(default=300.0, gt=0)  # per git command (large trees take time)
    # `ragcode serve` syncs every registered repository this often (0: only when asked).
    sync_interval_s: float = Field(default=0.0, ge=0)
    # `POST /api/repos/{name}/sync` from a git server: this secret as a Bearer token or
    # X-Gitlab-Token, or an X-Hub-Signature-256 HMAC of the body (GitHub, Gitea). None: only
    # admins signed in to the web app can ask for a sync.
    webhook_secret: SecretStr | None = None
    webhook_max_bytes: int = Field(default=1_048_576, ge=1024)  # a webhook's body, at most

    @model_validator(mode="after")
    def _check_secret(self) -> RepoSettings:
        if self.webhook_secret is not None and len(self.webhook_secret.get_secret_value()) < 16:
            raise ValueError("repos.webhook_secret 는 16자 이상이어야 합니다")
        return self


WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "*"})


def bare_host(host: str) -> str:
    """`Example.com:8000` -> `example.com`, `[::1]:8000` -> `::1`, `::1` -> `::1`."""
    host = host.strip().lower().rstrip(".")  # "localhost." is localhost
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:  # name:port; more colons is a bare IPv6 address
        return host.split(":", 1)[0]
    return host


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGCODE_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    documents: DocumentSettings = Field(default_factory=DocumentSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    repos: RepoSettings = Field(default_factory=RepoSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        toml_file = toml_path(init_kwargs.get("data_dir"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        return (init_settings, env_settings, toml)


def load_settings(**overrides: Any) -> Settings:
    """Settings from env + TOML, with explicit overrides (e.g. --data-dir) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
