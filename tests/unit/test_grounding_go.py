"""The check of names in generated Go (chat/grounding_go.py), through the real tree-sitter
grammar, against a fixed index."""

from __future__ import annotations

import pytest

from ragcode.chat.code_blocks import CodeBlock
from ragcode.chat.grounding import check_blocks, check_code, repair_defect
from ragcode.chat.grounding_go import package_dirs, package_name
from tests.unit.test_grounding_js import Lookup

pytestmark = pytest.mark.unit

# An index of govalidator (a root named govalidator) and of a team's app/internal/store.
GOVALIDATOR = "github.com/asaskevich/govalidator"
DEFINED = frozenset({"IsEmail", "IsURL", "ValidateStruct", "Open", "Cache", "Get", "Normalize"})
MODULES = frozenset({"/govalidator", "/app/internal/store", "govalidator", "store", "errors"})


def unknown(code: str) -> list[str]:
    return check_code(code, "go", Lookup(DEFINED), Lookup(MODULES)).unknown


SERVER = """package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pkg/errors"
	v "github.com/asaskevich/govalidator"
	"github.com/team/app/internal/store"
)

type Server struct{ cache *store.Cache }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.FormValue("email"))
	if !v.IsEmail(email) || !v.IsEmailStrict(email) {
		fmt.Fprintln(w, errors.Wrap(errors.New("bad"), "email"))
	}
	c := store.Open()
	_ = store.Entry{Key: email}
	items := make([]int, 0, len(email))
	items = append(items, int(int64(3)))
	c.Get("k").WhateverItReturns()
	normalize(email)
}
"""


def test_invented_names_of_an_indexed_package_are_flagged() -> None:
    defined, modules = Lookup(DEFINED), Lookup(MODULES)
    report = check_code(SERVER, "go", defined, modules)
    # A call through an alias, a type of a composite literal, a bare call of the package.
    assert report.unknown == ["IsEmailStrict", "Entry", "normalize"]
    assert {"IsEmail", "Open", "Cache", "TrimSpace", "Wrap"} <= set(report.used)
    # Only the packages outside the standard library are asked about, by anchored directory.
    assert "/github.com/pkg/errors" in modules.asked[0]
    assert not any(name.startswith(("/fmt", "/net", "/strings")) for name in modules.asked[0])
    assert len(modules.asked) == len(defined.asked) == 1


def test_a_directory_named_like_a_package_is_not_enough() -> None:
    """`errors` and `store` are directories of the index, but not anchored at its root: the
    packages `github.com/pkg/errors` and `example.com/other/store` are not the index's."""
    code = (
        'package main\n\nimport (\n\t"github.com/pkg/errors"\n\t"example.com/other/store"\n)\n\n'
        "func main() { _ = errors.WithStack(nil); store.Connect() }\n"
    )
    assert unknown(code) == []


def test_standard_library_builtins_and_the_answers_names_are_known() -> None:
    code = """package util

import (
	"context"
	"encoding/json"
	"errors"
	"os"
)

type Config struct{ Path string }

func Load(ctx context.Context, paths ...string) (cfg *Config, err error) {
	for i, p := range paths {
		data, readErr := os.ReadFile(p)
		if readErr != nil {
			return nil, readErr
		}
		_ = i
		cfg = new(Config)
		err = json.Unmarshal(data, cfg)
	}
	var buf []byte
	buf = append(buf, byte(len(paths)))
	switch t := any(cfg).(type) {
	case *Config:
		apply(t)
	}
	done := make(chan struct{})
	close(done)
	return cfg, errors.Join(err)
}

func apply(c *Config) { println(c.Path, min(1, 2), cap([]int{})) }
"""
    assert unknown(code) == []


def test_fragments_and_dot_imports() -> None:
    # A fragment without a package clause parses; a bare call is the answer's package.
    assert unknown('ok := IsEmail("a@b.c")\nok = isMail("x")\n') == ["isMail"]
    # A dot import from a package outside the index may bring any bare name...
    assert (
        unknown('package main\n\nimport . "github.com/onsi/gomega"\n\nfunc f() { Expect(1) }') == []
    )
    # ...one from the index may not.
    code = (
        'package main\n\nimport . "github.com/asaskevich/govalidator"\n\nfunc f() { IsMail("x") }'
    )
    assert unknown(code) == ["IsMail"]


def test_broken_code_raises_no_alarm_and_asks_nothing() -> None:
    defined, modules = Lookup(DEFINED), Lookup(MODULES)
    broken = (
        'package main\n\nimport "github.com/asaskevich/govalidator"\n\n'
        "func f( {\n\tgovalidator.Nope()\n"
    )
    assert check_code(broken, "go", defined, modules).unknown == []
    assert defined.asked == modules.asked == []


def test_blocks_by_fence_and_the_repair_judged_in_go() -> None:
    blocks = [
        CodeBlock("golang", "func helper() int { return 1 }"),
        CodeBlock("", f'import "{GOVALIDATOR}"\n\nfunc f() {{ helper(); govalidator.Nope() }}'),
        CodeBlock("sh", "go get ./..."),
    ]
    assert check_blocks(blocks, "go", Lookup(DEFINED), Lookup(MODULES)).unknown == ["Nope"]
    assert repair_defect(blocks, "go") is None
    assert repair_defect([CodeBlock("go", "func f( {")], "go") == "line 1: 구문 오류"
    assert repair_defect([CodeBlock("js", "f()")], "go") == "go 코드 블록 없음"


def test_package_names_and_directories_of_import_paths() -> None:
    assert package_name("github.com/asaskevich/govalidator") == "govalidator"
    assert package_name("github.com/go-playground/validator/v10") == "validator"
    assert package_name("gopkg.in/yaml.v3") == "yaml"
    assert package_name("github.com/mattn/go-sqlite3") == "sqlite3"
    assert package_dirs("x.org/a/b") == ["/x.org/a/b", "/a/b", "/b"]
