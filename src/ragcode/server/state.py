"""Everything the web app holds for its lifetime, built from the core `App` in one place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from ragcode.app import App
from ragcode.history.sqlite import SqliteHistory
from ragcode.server.accounts import Accounts, User
from ragcode.server.chat_service import ChatService
from ragcode.server.fair_executor import FairExecutor
from ragcode.server.hub import Hub
from ragcode.server.ingest_worker import IngestWorker
from ragcode.server.ratelimit import AuthLimits
from ragcode.server.registry import DocumentRegistry
from ragcode.server.secret import resolve_secret

WEB_DB = "web.sqlite3"  # accounts, sessions, chat history, uploaded documents
# History reads/writes and session checks: each SQLite file sits behind one lock, so more
# threads would only wait; apart from generation, so that they never queue behind it.
HISTORY_THREADS = 2


@dataclass(slots=True)
class ServerState:
    core: App
    accounts: Accounts
    history: SqliteHistory
    registry: DocumentRegistry
    signer: Signer
    limiter: AuthLimits
    hub: Hub
    chat: ChatService
    ingest: IngestWorker
    executor: FairExecutor  # generation (modes, LLM streams), shared fairly between users
    history_io: ThreadPoolExecutor

    def session_cookie(self, token: str) -> str:
        return self.signer.sign(token).decode("ascii")

    def session_token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self.signer.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None

    def user_from_cookie(self, cookie: str | None) -> User | None:
        token = self.session_token(cookie)
        return self.accounts.session_user(token) if token else None

    def close(self) -> None:
        self.ingest.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.history_io.shutdown(wait=False, cancel_futures=True)
        self.accounts.close()
        self.history.close()
        self.registry.close()


def build_state(core: App) -> ServerState:
    settings = core.settings
    database = settings.data_dir / WEB_DB
    history = SqliteHistory(database)
    registry = DocumentRegistry(database)
    hub = Hub()
    executor = FairExecutor(settings.server.chat_workers, name="chat")
    history_io = ThreadPoolExecutor(max_workers=HISTORY_THREADS, thread_name_prefix="history")
    server = settings.server
    return ServerState(
        core=core,
        accounts=Accounts(database),
        history=history,
        registry=registry,
        signer=Signer(resolve_secret(settings), salt="ragcode.session"),
        limiter=AuthLimits.from_settings(server),
        hub=hub,
        chat=ChatService(
            core.chat_modes(),
            history,
            executor,
            history_io,
            settings.generation.history_turns,
            idle_timeout_s=server.chat_idle_timeout_s,
        ),
        ingest=IngestWorker(core, registry, hub),
        executor=executor,
        history_io=history_io,
    )
