"""JavaScript, TypeScript, TSX, Java and Go units through tree-sitter."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.files import SourceFile
from ragcode.ingest.parse_treesitter import parse_treesitter
from ragcode.ingest.parser import UnsupportedLanguageError, parse_file, parse_source

pytestmark = pytest.mark.unit

F, M, C = UnitKind.FUNCTION, UnitKind.METHOD, UnitKind.CLASS


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _summary(units: list[CodeUnit]) -> list[tuple[str, UnitKind, int, int]]:
    return [(u.name, u.kind, u.start_line, u.end_line) for u in units]


def _one(units: list[CodeUnit], name: str) -> CodeUnit:
    (unit,) = [u for u in units if u.name == name]
    return unit


JS = _source(
    """
    import x from "x";

    /**
     * Adds two numbers.
     * @param a first
     */
    export function add(a, b) {
      function check(n) { return n; }
      return check(a) + b;
    }

    // 곱하기
    const mul = (a, b) => a * b;
    let sub = function (a, b) {
      return a - b;
    };
    export default async function* stream() {}

    class Counter extends Base {
      static count = 0;
      #step = 1;

      // 증가시킨다
      increment() { this.value += this.#step; }
      get value() { return this._v; }
      set value(v) { this._v = v; }
      static create() { return new Counter(); }
      onClick = (event) => {
        const inner = () => event;
      };
    }

    const api = {
      get: async (url) => fetch(url),
      post(url, body) { return send(url, body); },
    };
    Counter.prototype.reset = function () {};
    """
)


def test_javascript_units_names_kinds_and_lines() -> None:
    units = parse_source("src/app.js", "javascript", JS)
    assert _summary(units) == [
        ("add", F, 7, 10),
        ("add.check", F, 8, 8),
        ("mul", F, 13, 13),
        ("sub", F, 14, 16),
        ("stream", F, 17, 17),
        ("Counter", C, 19, 21),
        ("Counter.increment", M, 24, 24),
        ("Counter.value", M, 25, 25),
        ("Counter.value", M, 26, 26),
        ("Counter.create", M, 27, 27),
        ("Counter.onClick", M, 28, 30),
        ("Counter.onClick.inner", F, 29, 29),
        ("api.get", M, 34, 34),
        ("api.post", M, 35, 35),
        ("Counter.reset", M, 37, 37),
    ]


def test_javascript_doc_comments_are_cleaned_and_not_part_of_code() -> None:
    units = parse_source("src/app.js", "javascript", JS)
    add = _one(units, "add")
    assert add.docstring == "Adds two numbers.\n@param a first"
    assert add.code.startswith("export function add(a, b) {")
    assert _one(units, "mul").docstring == "곱하기"
    assert _one(units, "mul").code == "const mul = (a, b) => a * b;"
    assert _one(units, "Counter.increment").docstring == "증가시킨다"
    assert _one(units, "sub").docstring is None


def test_javascript_class_header_and_inline_members() -> None:
    inline = parse_source("s.js", "javascript", "class A { run() { return 1; } }\n")
    assert [(u.name, u.code) for u in inline] == [
        ("A", "class A { run() { return 1; } }"),
        ("A.run", "run() { return 1; }"),
    ]
    units = parse_source("src/app.js", "javascript", JS)
    header = _one(units, "Counter").code
    assert header == "class Counter extends Base {\n  static count = 0;\n  #step = 1;"
    assert _one(units, "Counter.create").code == "static create() { return new Counter(); }"
    # A member on its own line keeps the whole line; only a shared line is cut by column.
    assert _one(units, "api.get").code == "get: async (url) => fetch(url),"
    assert _one(units, "Counter.onClick.inner").code == "const inner = () => event;"


TS = _source(
    """
    /** A service. */
    @Injectable({ providedIn: "root" })
    export class UserService<T extends User> implements Repo<T> {
      private cache = new Map<string, T>();

      constructor(private readonly http: HttpClient) {}

      /** Finds one user. */
      @Memoize()
      @Log("find")
      async find(id: string): Promise<T | undefined> {
        return this.cache.get(id);
      }
    }

    export interface User {
      id: string;
    }

    export const identity = <T,>(value: T): T => value;

    export abstract class Shape {
      abstract area(): number;
      describe(): string { return "shape"; }
    }
    """
)


def test_typescript_generics_decorators_interfaces() -> None:
    units = parse_source("svc.ts", "typescript", TS)
    assert _summary(units) == [
        ("UserService", C, 2, 4),
        ("UserService.constructor", M, 6, 6),
        ("UserService.find", M, 9, 13),
        ("User", C, 16, 18),
        ("identity", F, 20, 20),
        ("Shape", C, 22, 23),
        ("Shape.describe", M, 24, 24),
    ]
    service = _one(units, "UserService")
    assert service.docstring == "A service."
    assert service.code.splitlines()[0] == '@Injectable({ providedIn: "root" })'
    find = _one(units, "UserService.find")
    assert find.docstring == "Finds one user."
    assert find.code.splitlines()[:2] == ["@Memoize()", '@Log("find")']
    assert _one(units, "Shape").code == "export abstract class Shape {\n  abstract area(): number;"


TSX = _source(
    """
    import React from "react";

    type Props = { label: string };

    /** 버튼 컴포넌트 */
    export function Button({ label }: Props) {
      const handleClick = () => alert(label);
      return <button onClick={handleClick}>{label}</button>;
    }

    export const App: React.FC = () => (
      <div>
        <Button label="안녕" />
      </div>
    );
    """
)


def test_tsx_components() -> None:
    units = parse_source("App.tsx", "tsx", TSX)
    assert _summary(units) == [
        ("Button", F, 6, 9),
        ("Button.handleClick", F, 7, 7),
        ("App", F, 11, 15),
    ]
    assert _one(units, "Button").docstring == "버튼 컴포넌트"
    assert _one(units, "App").code.endswith("  </div>\n);")


JAVA = _source(
    """
    package com.example;

    import java.util.List;

    /**
     * 계좌.
     * Holds money.
     */
    @Entity
    public class Account {
        private long balance;

        /** Opens an empty account. */
        public Account() {
            this(0);
        }

        public Account(long balance) { this.balance = balance; }

        // Deposit an amount.
        @Override
        public void deposit(long amount) { balance += amount; }

        public void deposit(long amount, String memo) {
            deposit(amount);
        }

        static class Ledger {
            void record() {}

            enum Kind { IN, OUT; boolean isIn() { return this == IN; } }
        }
    }

    interface Auditable {
        void audit();
    }
    """
)


def test_java_class_constructors_overloads_and_inner_types() -> None:
    units = parse_source("Account.java", "java", JAVA)
    assert _summary(units) == [
        ("Account", C, 9, 11),
        ("Account.Account", M, 14, 16),
        ("Account.Account", M, 18, 18),
        ("Account.deposit", M, 21, 22),
        ("Account.deposit", M, 24, 26),
        ("Account.Ledger", C, 28, 28),
        ("Account.Ledger.record", M, 29, 29),
        ("Account.Ledger.Kind", C, 31, 31),
        ("Account.Ledger.Kind.isIn", M, 31, 31),
        ("Auditable", C, 35, 35),
        ("Auditable.audit", M, 36, 36),
    ]
    account = _one(units, "Account")
    assert account.code == "@Entity\npublic class Account {\n    private long balance;"
    assert account.docstring == "계좌.\nHolds money."
    constructors = [u for u in units if u.name == "Account.Account"]
    assert constructors[0].docstring == "Opens an empty account."
    assert constructors[0].code == "public Account() {\n    this(0);\n}"
    deposit = next(u for u in units if u.name == "Account.deposit")
    assert deposit.docstring == "Deposit an amount."
    assert deposit.code.startswith("@Override\npublic void deposit")


GO = _source(
    """
    package bank

    // Account holds money.
    // It is safe for one goroutine.
    type Account struct {
        balance int64
    }

    type (
        // Store persists accounts.
        Store interface {
            Save(a *Account) error
        }
        ID int64
    )

    // NewAccount opens an account.
    func NewAccount() *Account {
        return &Account{}
    }

    // Deposit adds an amount.
    func (a *Account) Deposit(amount int64) { a.balance += amount }

    func (a Account) Balance() int64 { return a.balance }

    func (l *List[T]) Push(v T) {}
    """
).replace("    ", "\t")  # gofmt indents with tabs


def test_go_functions_methods_and_types() -> None:
    units = parse_source("bank.go", "go", GO)
    assert _summary(units) == [
        ("Account", C, 5, 7),
        ("Store", C, 11, 13),
        ("NewAccount", F, 18, 20),
        ("Account.Deposit", M, 23, 23),
        ("Account.Balance", M, 25, 25),
        ("List.Push", M, 27, 27),
    ]
    assert _one(units, "Account").docstring == "Account holds money.\nIt is safe for one goroutine."
    assert _one(units, "Account").code == "type Account struct {\n\tbalance int64\n}"
    assert _one(units, "Store").docstring == "Store persists accounts."
    assert _one(units, "Store").code == "Store interface {\n\tSave(a *Account) error\n}"
    assert _one(units, "NewAccount").docstring == "NewAccount opens an account."
    assert _one(units, "Account.Deposit").docstring == "Deposit adds an amount."
    assert _one(units, "Account.Balance").docstring is None


def test_comment_separated_by_blank_line_or_trailing_code_is_not_a_docstring() -> None:
    source = "// license header\n\nfunction a() {}\nlet x = 1; // note\nfunction b() {}\n"
    units = parse_source("a.js", "javascript", source)
    assert [(u.name, u.docstring) for u in units] == [("a", None), ("b", None)]


def test_broken_code_still_yields_the_valid_units() -> None:
    source = "function ok() { return 1; }\nfunction broken( {\n"
    units = parse_source("b.js", "javascript", source)
    assert ("ok", F, 1, 1) in _summary(units)


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(UnsupportedLanguageError):
        parse_source("x.rb", "ruby", "def x; end")
    with pytest.raises(ValueError):
        parse_treesitter("x.py", "python", "def x(): pass")


def test_parse_file_carries_the_file_identity(tmp_path: Path) -> None:
    source = SourceFile(
        "pkg/a.go", tmp_path / "pkg/a.go", "go", "package a\n\nfunc A() {}\n", "abc"
    )
    parsed = parse_file(source)
    assert (parsed.path, parsed.language, parsed.file_hash) == ("pkg/a.go", "go", "abc")
    assert _summary(parsed.units) == [("A", F, 3, 3)]
    assert parsed.units[0].path == "pkg/a.go"
