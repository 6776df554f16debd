"""The MCP server: KnowledgeTools' methods registered as tools of the official SDK's MCPServer.

Tool functions are plain (sync) functions: the SDK runs each call on a worker thread, so a
slow answer of the LLM never holds up the protocol (pings, cancellations, other calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from ragcode import __version__
from ragcode.domain import TEAM_ONLY
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.ingest.indexer import IndexInputError
from ragcode.llm.protocol import LLMError
from ragcode.mcp_server import descriptions as text
from ragcode.mcp_server import schema
from ragcode.mcp_server.inputs import MAX_ASK_TOP_K, MAX_SEARCH_TOP_K, ToolInputError
from ragcode.mcp_server.tools import KnowledgeTools
from ragcode.store.protocol import StoreError

log = logging.getLogger(__name__)

# Failures a user can act on (their messages say what to do): returned as tool errors.
# Anything else is a bug: the SDK logs its traceback and tells the client only its name.
_USER_ERRORS = (ToolInputError, IndexInputError, StoreError, LLMError, EmbeddingError)

# The ranges are published in the schema but checked by the tools, whose errors are Korean.
Query = Annotated[str, Field(description=text.QUERY)]
Question = Annotated[str, Field(description=text.QUESTION)]
Language = Annotated[str | None, Field(description=text.LANGUAGE)]
CodeLanguage = Annotated[str | None, Field(description=text.CODE_LANGUAGE)]
SearchTopK = Annotated[
    int | None,
    Field(
        description=text.SEARCH_TOP_K, json_schema_extra={"minimum": 1, "maximum": MAX_SEARCH_TOP_K}
    ),
]
AskTopK = Annotated[
    int | None,
    Field(description=text.ASK_TOP_K, json_schema_extra={"minimum": 1, "maximum": MAX_ASK_TOP_K}),
]
FilePath = Annotated[str, Field(description=text.PATH)]
Name = Annotated[str, Field(description=text.NAME)]

# Where the HTTP endpoint (http.py) puts the scopes of the API key's user, in the ASGI scope
# of the request it has authenticated; a call over stdio has no request: the team's scope.
SCOPES_KEY = "ragcode.scopes"

_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)


def _run(tool: str, ctx: Context, call: Callable[[tuple[str, ...]], BaseModel]) -> CallToolResult:
    """The tool's result, called with the caller's scopes (`caller_scopes`), as structured
    content and its JSON text; a refusal as an error result whose text is our message alone
    (a raised ToolError would get an English prefix)."""
    scopes = caller_scopes(ctx)
    try:
        out = call(scopes)
    except _USER_ERRORS as exc:
        log.info("mcp tool=%s refused error=%r", tool, str(exc))
        return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
    text = TextContent(type="text", text=out.model_dump_json(indent=2))
    return CallToolResult(content=[text], structured_content=out.model_dump(mode="json"))


def caller_scopes(ctx: Context) -> tuple[str, ...]:
    """The owner scopes the caller of this tool may see."""
    asgi_scope = getattr(ctx.request_context.request, "scope", None)
    if isinstance(asgi_scope, dict) and SCOPES_KEY in asgi_scope:
        return tuple(asgi_scope[SCOPES_KEY])
    return TEAM_ONLY


def build_server(tools: KnowledgeTools) -> MCPServer:
    """Each tool is declared as `Annotated[CallToolResult, Model]`: the SDK publishes the
    model's output schema and passes the result (built by `_run`) through as it is."""
    # log_level: the SDK calls logging.basicConfig, which only acts when nothing configured
    # logging yet (cli.main does, to stderr); then it must not turn on INFO for everyone.
    server: MCPServer = MCPServer(
        "ragcode", title="ragcode", version=__version__, instructions=text.INSTRUCTIONS,
        log_level="WARNING",
    )  # fmt: skip

    @server.tool(description=text.SEARCH_CODE, annotations=_READ_ONLY)
    def search_code(
        ctx: Context, query: Query, language: Language = None, top_k: SearchTopK = None
    ) -> Annotated[CallToolResult, schema.SearchCodeOut]:
        return _run(
            "search_code", ctx, lambda scopes: tools.search_code(query, language, top_k, scopes)
        )

    @server.tool(description=text.GET_UNIT, annotations=_READ_ONLY)
    def get_unit(
        ctx: Context, path: FilePath, name: Name
    ) -> Annotated[CallToolResult, schema.UnitOut]:
        return _run("get_unit", ctx, lambda scopes: tools.get_unit(path, name, scopes))

    @server.tool(description=text.ASK_CODE, annotations=_READ_ONLY)
    def ask_code(
        ctx: Context, question: Question, top_k: AskTopK = None, language: CodeLanguage = None
    ) -> Annotated[CallToolResult, schema.CodeAnswerOut]:
        return _run(
            "ask_code", ctx, lambda scopes: tools.ask_code(question, top_k, scopes, language)
        )

    @server.tool(description=text.SEARCH_DOCS, annotations=_READ_ONLY)
    def search_docs(
        ctx: Context, query: Query, top_k: SearchTopK = None
    ) -> Annotated[CallToolResult, schema.SearchDocsOut]:
        return _run("search_docs", ctx, lambda scopes: tools.search_docs(query, top_k, scopes))

    @server.tool(description=text.ASK_DOCS, annotations=_READ_ONLY)
    def ask_docs(
        ctx: Context, question: Question, top_k: AskTopK = None
    ) -> Annotated[CallToolResult, schema.DocAnswerOut]:
        return _run("ask_docs", ctx, lambda scopes: tools.ask_docs(question, top_k, scopes))

    return server
