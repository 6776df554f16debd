"""Everything the web app holds for its lifetime, built from the core `App` in one place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from ragcode.accounts.protocol import AccountStore, User
from ragcode.app import App, WebStores, build_web_stores
from ragcode.history.protocol import HistoryStore
from ragcode.server.chat_service import ChatService
from ragcode.server.fair_executor import FairExecutor
from ragcode.server.hub import Hub
from ragcode.server.ingest_worker import IngestWorker
from ragcode.server.ratelimit import AuthLimits
from ragcode.server.repo_sync import RepoSyncService
from ragcode.server.secret import resolve_secret
from ragcode.uploads.protocol import UploadRegistry

# History reads/writes and session checks: the embedded SQLite file sits behind one lock, so
# more threads would only wait; apart from generation, so that they never queue behind it.
HISTORY_THREADS = 2


@dataclass(slots=True)
class ServerState:
    core: App
    stores: WebStores
    signer: Signer
    limiter: AuthLimits
    hub: Hub
    chat: ChatService
    ingest: IngestWorker
    executor: FairExecutor  # generation (modes, LLM streams), shared fairly between users
    history_io: ThreadPoolExecutor
    repos: RepoSyncService  # syncs of registered git repositories (webhook, schedule)

    @property
    def accounts(self) -> AccountStore:
        return self.stores.accounts

    @property
    def history(self) -> HistoryStore:
        return self.stores.history

    @property
    def registry(self) -> UploadRegistry:
        return self.stores.registry

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
        self.repos.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.history_io.shutdown(wait=False, cancel_futures=True)
        self.stores.close()


def build_state(core: App, stores: WebStores | None = None) -> ServerState:
    """The server over the core app; `stores` default to the configured ones."""
    settings = core.settings
    signer = Signer(resolve_secret(settings), salt="ragcode.session")  # before opening stores
    stores = stores or build_web_stores(settings)
    history = stores.history
    hub = Hub(stores.events)
    executor = FairExecutor(settings.server.chat_workers, name="chat")
    history_io = ThreadPoolExecutor(max_workers=HISTORY_THREADS, thread_name_prefix="history")
    server = settings.server
    return ServerState(
        core=core,
        stores=stores,
        signer=signer,
        limiter=AuthLimits.create(server, stores.login_attempts, stores.signup_attempts),
        hub=hub,
        chat=ChatService(
            core.chat_modes(pending=stores.pending_documents()),
            history,
            executor,
            history_io,
            settings.generation.history_turns,
            idle_timeout_s=server.chat_idle_timeout_s,
        ),
        ingest=IngestWorker(core, stores.registry, hub, history),
        executor=executor,
        history_io=history_io,
        repos=RepoSyncService(core, summarize=server.summarize),
    )
