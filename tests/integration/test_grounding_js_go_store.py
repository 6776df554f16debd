"""The symbol check of generated JavaScript and Go against a real SQLite index of a small
project, built by the real indexer (tree-sitter parser, analyser, embeddings, store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.code_blocks import extract_code_blocks
from ragcode.chat.grounding import check_blocks
from ragcode.domain import UnitKind
from ragcode.store.protocol import CodeStore, FileRecord, Symbol
from ragcode.store.sqlite_store import SqliteStore
from tests.integration.test_store_symbols import entry
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

HTTP_JS = """\
/** Fetches a URL and parses its JSON body. */
export async function fetchJson(url, options = {}) {
  const response = await fetch(url, options);
  return response.json();
}

/** Calls fn until it succeeds, at most `times` times. */
export async function withRetry(fn, times = 3) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= times) throw err;
    }
  }
}

export class HttpClient {
  constructor(base) {
    this.base = base;
  }

  get(path) {
    return withRetry(() => fetchJson(this.base + path));
  }
}
"""
FORMAT_JS = """\
export function formatDate(date) {
  return date.toISOString().slice(0, 10);
}
"""
STORE_GO = """\
package store

// Cache keeps values in memory.
type Cache struct {
	items map[string]string
}

// Open makes an empty cache.
func Open() *Cache {
	return &Cache{items: map[string]string{}}
}

// Get reads one value.
func (c *Cache) Get(key string) (string, bool) {
	value, ok := c.items[key]
	return value, ok
}
"""
EMAIL_GO = """\
package validate

import "strings"

// IsEmail reports whether s looks like an e-mail address.
func IsEmail(s string) bool {
	return strings.Contains(s, "@")
}
"""


@pytest.fixture
def app(make_app: Callable[..., App], tmp_path: Path) -> App:
    project = tmp_path / "app"  # Go imports it as github.com/team/app/...
    files = {
        "web/src/http.js": HTTP_JS,
        "web/src/format.js": FORMAT_JS,
        "internal/store/store.go": STORE_GO,
        "validate/email.go": EMAIL_GO,
    }
    for path, text in files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    app = make_app(ScriptedLLM(lambda _messages: "요약: 코드\n질문: a / b / c"))
    app.indexer.index(project)
    assert app.store.status().units >= 8, app.store.status()
    return app


def unknown(app: App, answer: str, language: str) -> list[str]:
    blocks = extract_code_blocks(answer)
    store = app.store
    return check_blocks(blocks, language, store.defined_names, store.indexed_modules).unknown


def test_invented_javascript_imports_are_flagged_and_real_ones_are_not(app: App) -> None:
    real = (
        "```javascript\n"
        'import { fetchJson, withRetry, HttpClient } from "./web/src/http.js";\n'
        'import * as fmt from "./format";\nimport express from "express";\n\n'
        "const client = new HttpClient('/api');\n"
        "withRetry(() => fetchJson('/a')).then((d) => console.log(fmt.formatDate(d)));\n"
        "express().listen(3000);\n```"
    )
    assert unknown(app, real, "javascript") == []
    invented = (
        "```js\n"
        'import { fetchJson, fetchWithBackoff } from "./http";\n'
        'import * as fmt from "./format";\n\n'
        "fetchWithBackoff('/a', 3).then(fmt.formatTime);\nretryForever(fetchJson);\n```"
    )
    assert unknown(app, invented, "javascript") == [
        "fetchWithBackoff",
        "formatTime",
        "retryForever",
    ]
    closest = app.store.closest_symbols(["fetchWithBackoff"], limit=3)
    assert Symbol("fetchJson", "web/src/http.js") in closest


def test_invented_go_names_of_an_indexed_package_are_flagged(app: App) -> None:
    answer = (
        '```go\npackage main\n\nimport (\n\t"fmt"\n\n'
        '\t"github.com/team/app/internal/store"\n\tv "github.com/team/app/validate"\n'
        '\t"github.com/other/store/cache"\n)\n\n'
        'func main() {\n\tc := store.Open()\n\tvalue, ok := c.Get("k")\n'
        '\tfmt.Println(value, ok, v.IsEmail("a@b.c"), cache.Anything())\n'
        '\t_ = store.OpenWithTTL(10)\n\t_ = v.IsPhone("010")\n}\n```'
    )
    assert unknown(app, answer, "go") == ["OpenWithTTL", "IsPhone"]
    real = answer.replace("store.OpenWithTTL(10)", "store.Cache{}").replace(
        'v.IsPhone("010")', 'v.IsEmail("x")'
    )
    assert unknown(app, real, "go") == []


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CodeStore]:
    if request.param == "sqlite":
        opened: CodeStore = SqliteStore(tmp_path / "index.sqlite3", "code")
    else:
        from ragcode.store.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("pg_database"), collection="code")
    unit = entry("internal/store/store.go", "Open", UnitKind.FUNCTION, "func Open() {}", 1)
    opened.replace_file(FileRecord("/srv/app", "internal/store/store.go", "h", "go"), [unit])
    root = entry("validator.go", "IsEmail", UnitKind.FUNCTION, "func IsEmail() {}", 1)
    opened.replace_file(FileRecord("/src/govalidator", "validator.go", "h", "go"), [root])
    yield opened
    opened.close()


def test_go_packages_are_directories_anchored_at_a_roots_name(store: CodeStore) -> None:
    """A Go import path ends with the directory from the root's name down; a directory of the
    same last name elsewhere is not the package."""
    asked = ["/app/internal/store", "/internal/store", "/store", "/other/store", "/govalidator"]
    assert store.indexed_modules(asked) == {"/app/internal/store", "/govalidator"}
    # Plain module names are what they were (Python and JavaScript ask these).
    assert store.indexed_modules(["store", "internal", "app", "govalidator", "validator"]) == {
        "store", "internal", "app", "govalidator", "validator"
    }  # fmt: skip
