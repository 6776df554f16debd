"""A package indexed as its own root (`ragcode index toolz/`): the units' paths lack the
package's name, so the indexer records it and the generation context's import line names
`toolz.itertoolz`, the module a team member would import (not `itertoolz`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.domain import PYTHON_PACKAGE, user_scope
from ragcode.ingest.indexer import root_package
from ragcode.retrieve.context import pack_context
from ragcode.retrieve.hybrid import RetrieverChoice

pytestmark = pytest.mark.integration

ITERTOOLZ = '''\
def unique_everseen(seq):
    """Return only unique elements of a sequence, in their first order."""
    seen = set()
    for item in seq:
        if item not in seen:
            seen.add(item)
            yield item
'''


def write_package(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from .itertoolz import unique_everseen\n")
    (folder / "itertoolz.py").write_text(ITERTOOLZ)
    return folder


def context_of(app: App, scopes: tuple[str, ...] | None = None) -> str:
    choice = RetrieverChoice(expand=False)
    if scopes is None:
        hits = app.searcher.search("unique_everseen", top_k=3, retrievers=choice)
    else:
        hits = app.searcher.search("unique_everseen", top_k=3, retrievers=choice, scopes=scopes)
    assert hits and hits[0].record.title == "unique_everseen", hits
    return pack_context(hits, max_tokens=2000).text


def test_a_package_root_puts_its_name_in_the_import_line(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    package = write_package(tmp_path / "repo" / "toolz")
    app = make_app()
    app.indexer.index(package)
    context = context_of(app)
    assert "import: from toolz.itertoolz import unique_everseen" in context, context


def test_a_file_indexed_alone_inside_a_package_is_named_the_same(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    package = write_package(tmp_path / "repo" / "toolz")
    app = make_app()
    app.indexer.index(package / "itertoolz.py")  # its root: the package's directory
    assert "import: from toolz.itertoolz import unique_everseen" in context_of(app)


def test_a_folder_holding_the_package_needs_no_prefix(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    write_package(tmp_path / "repo" / "toolz")
    app = make_app()
    app.indexer.index(tmp_path / "repo")
    hit = app.searcher.search("unique_everseen", top_k=1, retrievers=RetrieverChoice(expand=False))
    assert PYTHON_PACKAGE not in hit[0].record.metadata
    assert "import: from toolz.itertoolz import unique_everseen" in context_of(app)


def test_an_uploads_directory_is_no_package_of_the_users(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    """An upload's files sit in a directory the server named: a zip of a package's contents
    must not import from that directory's name."""
    upload = write_package(tmp_path / "uploads" / "d1")
    app = make_app()
    owner = user_scope(1)
    app.indexer.index(upload, owner=owner, own_root=True)
    context = context_of(app, scopes=(owner,))
    assert "from d1" not in context
    assert "import: from itertoolz import unique_everseen" in context, context


def test_nested_packages_give_the_dotted_name(tmp_path: Path) -> None:
    inner = tmp_path / "app" / "core"
    inner.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (inner / "__init__.py").write_text("")
    assert root_package(inner) == "app.core"
    assert root_package(tmp_path) is None
    (tmp_path / "my-pkg" / "core").mkdir(parents=True)
    (tmp_path / "my-pkg" / "__init__.py").write_text("")
    (tmp_path / "my-pkg" / "core" / "__init__.py").write_text("")
    assert root_package(tmp_path / "my-pkg") is None  # not importable by that name
    assert root_package(tmp_path / "my-pkg" / "core") is None  # nor what is inside it


def test_a_projects_root_with_a_stray_init_is_no_package(tmp_path: Path) -> None:
    project = tmp_path / "service"
    project.mkdir()
    (project / "__init__.py").write_text("")
    assert root_package(project) == "service"
    (project / "pyproject.toml").write_text("[project]\nname = 'service'\n")
    assert root_package(project) is None


def test_only_python_units_carry_the_package(make_app: Callable[..., App], tmp_path: Path) -> None:
    package = write_package(tmp_path / "repo" / "toolz")
    (package / "helpers.js").write_text("export function uniqueEverseen(xs) { return xs; }\n")
    app = make_app()
    app.indexer.index(package)
    choice = RetrieverChoice(expand=False)
    hits = {h.record.title: h for h in app.searcher.search("unique everseen", 5, choice)}
    assert hits["unique_everseen"].record.metadata[PYTHON_PACKAGE] == "toolz"
    assert PYTHON_PACKAGE not in hits["uniqueEverseen"].record.metadata
