"""The check of names in generated JavaScript/TypeScript (chat/grounding_js.py), through the
real tree-sitter grammars, against a fixed index."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.chat.code_blocks import CodeBlock
from ragcode.chat.grounding import check_blocks, check_code, repair_defect

pytestmark = pytest.mark.unit

# What an index of a team's JS code and of lodash-es defines: unit names and words of code.
DEFINED = frozenset(
    {"fetchJson", "HttpClient", "get", "retry", "debounce", "throttle", "formatDate", "lodash-es"}
)
MODULES = frozenset({"lodash-es", "http", "lib", "utils"})  # directories and files of the index


class Lookup:
    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.asked: list[list[str]] = []

    def __call__(self, names: Sequence[str]) -> set[str]:
        self.asked.append(list(names))
        return set(names) & self.names


def unknown(code: str, language: str = "javascript") -> list[str]:
    return check_code(code, language, Lookup(DEFINED), Lookup(MODULES)).unknown


def test_invented_names_of_an_indexed_module_are_flagged() -> None:
    code = (
        'import * as http from "./http";\n'
        'import { fetchJson, fetchWithRetry as fr } from "../lib/http.js";\n'
        'import { debounce, debounceLeading } from "lodash-es";\n\n'
        'http.get("/a");\nhttp.fetchWithTimeout("/b", 3);\nfr(fetchJson);\n'
    )
    assert unknown(code) == ["fetchWithRetry", "debounceLeading", "fetchWithTimeout"]
    # CommonJS: destructured, namespace and direct members of `require(...)`.
    code = (
        'const { retry, retryForever: forever } = require("./retry");\n'
        'const utils = require("./utils");\n'
        'utils.formatDate(new Date());\nutils.parseDate("x");\nrequire("./http").getAll();\n'
    )
    assert unknown(code) == ["retryForever", "parseDate", "getAll"]


def test_builtins_globals_and_outside_packages_are_trusted() -> None:
    defined, modules = Lookup(DEFINED), Lookup(MODULES)
    code = (
        'import fs from "node:fs";\nimport path from "path";\n'
        'import { readFile } from "fs/promises";\n'
        'import axios from "axios";\nimport { useRetry } from "react-query";\n'
        'import { Component } from "@angular/core";\nimport "./app.css";\n\n'
        'fs.readFileSync(path.join("a", "b"));\nreadFile("x").then(console.log);\n'
        'axios.create().getWithRetry("/u");\nuseRetry();\n'
        'setTimeout(() => fetch("/x"), 10);\nconst m = new Map();\nnew URL("http://a");\n'
        'document.querySelector("#a").addEventListener("click", () => {});\n'
        "JSON.parse(localStorage.getItem('k'));\nPromise.all([]);\nnew AbortController();\n"
        'describe("x", () => { it("y", () => { expect(m.size).toBe(0); }); });\n'
    )
    report = check_code(code, "javascript", defined, modules)
    assert report.unknown == []
    assert {"useRetry", "Component"} <= set(report.used)
    # Node built-ins, scoped packages, assets and a default import's module (its members
    # are trusted) are not even asked about.
    assert modules.asked == [["react-query"]]
    assert defined.asked == []


def test_names_the_answer_defines_are_known() -> None:
    code = (
        "function withRetry(fn, { times = 3, delay } = {}, ...rest) {\n"
        "  for (const attempt of [1, 2]) { sleep(attempt); }\n"
        "  try { return fn(...rest); } catch (err) { report(err); }\n"
        "}\n"
        "const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));\n"
        "function report(e) { console.error(e); }\n"
        "class Poller { poll() { return this.nextTick(); } }\n"
        "let [first, second] = [1, 2];\n"
        "withRetry(() => first + second);\nnew Poller().poll();\n"
    )
    assert unknown(code) == []


def test_bare_calls_must_come_from_the_index() -> None:
    code = 'formatDate(new Date());\nretryRequest("/u");\nconst c = new RetryClient();\n'
    assert unknown(code) == ["retryRequest", "RetryClient"]
    # Members of a default import and of values of unknown type are trusted.
    code = (
        'import http from "./http";\nhttp.fetchAnything();\nconst c = new HttpClient();\nc.nope();'
    )
    assert unknown(code) == []
    # A parameter named like a namespace is the parameter.
    code = 'import * as http from "./http";\nfunction f(http) { return http.anything(); }\n'
    assert unknown(code) == []


def test_typescript_types_and_type_only_imports() -> None:
    code = (
        'import type { RetryOptions } from "./http";\n'
        'import { type Policy, fetchJson, fetchStream } from "./http";\n'
        "interface Options { retries: number }\ntype Handler = (e: Error) => void;\n"
        "enum Mode { Fast }\ndeclare function track(name: string): void;\n"
        "function run<T>(opts: Options, policy?: Policy): Promise<T> {\n"
        "  track('run');\n  return fetchJson<T>('/x');\n}\n"
    )
    assert unknown(code, "typescript") == ["fetchStream"]
    jsx = 'import { Chart } from "./utils";\nexport const App = () => <Chart data={[]} />;\n'
    assert unknown(jsx, "tsx") == ["Chart"]
    assert unknown(jsx, "jsx") == ["Chart"]


def test_broken_code_raises_no_alarm_and_asks_nothing() -> None:
    defined, modules = Lookup(DEFINED), Lookup(MODULES)
    broken = 'import { fetchWithRetry } from "./http";\nfunction (\n  fetchWithRetry(\n'
    assert check_code(broken, "javascript", defined, modules).unknown == []
    assert check_code("const x: number = invented();", "javascript", defined, modules).unknown == []
    assert defined.asked == modules.asked == []


def test_blocks_are_read_by_their_fence_and_together() -> None:
    blocks = [
        CodeBlock("js", "export function fetchAll() { return []; }"),
        CodeBlock("", 'import { nope } from "./http";\nfetchAll();'),  # the answer's language
        CodeBlock("typescript", "const n: number = missingHelper();"),
        CodeBlock("bash", "npm install"),
        CodeBlock("javascript", "function (("),  # broken: left to the syntax check
    ]
    report = check_blocks(blocks, "javascript", Lookup(DEFINED), Lookup(MODULES))
    assert report.unknown == ["nope", "missingHelper"]


def test_a_repaired_answer_is_judged_in_its_own_language() -> None:
    good = [CodeBlock("js", "const a = 1;")]
    assert repair_defect(good, "javascript") is None
    assert repair_defect([CodeBlock("ts", "const a: number = 1;")], "javascript") is None
    assert repair_defect([CodeBlock("js", "const a = 1;\nfunction (")], "javascript") == (
        "line 2: 구문 오류"
    )
    assert repair_defect([CodeBlock("python", "x = 1")], "javascript") == (
        "javascript 코드 블록 없음"
    )
    assert repair_defect([CodeBlock("java", "class A {")], "java") is None  # not checked
