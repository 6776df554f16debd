"""The check of names in generated code (chat/grounding.py) against a fixed index."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.chat.code_blocks import CodeBlock
from ragcode.chat.grounding import check_blocks, check_code

pytestmark = pytest.mark.unit

# What an index of requests defines: modules (paths), unit names, words of its code.
INDEX = frozenset(
    {"requests", "adapters", "sessions", "Session", "mount", "get", "HTTPAdapter", "json"}
)


class Index:
    def __init__(self, names: frozenset[str] = INDEX) -> None:
        self.names = names
        self.asked: list[list[str]] = []

    def __call__(self, names: Sequence[str]) -> set[str]:
        self.asked.append(list(names))
        return set(names) & self.names


def unknown(code: str, index: Index | None = None) -> list[str]:
    return check_code(code, "python", index or Index()).unknown


def test_invented_method_on_an_indexed_module_is_flagged() -> None:
    code = "import requests\n\nsession = requests.Session()\nsession.set_max_redirects(5)\n"
    report = check_code(code, "python", Index())
    assert report.unknown == ["set_max_redirects"]
    assert {"requests", "Session", "set_max_redirects"} <= set(report.used)
    # Also straight through the module, and through a name imported from it.
    assert unknown("import requests\nrequests.Session().set_max_redirects(3)") == [
        "set_max_redirects"
    ]
    assert unknown("from requests import Session\nwith Session() as s:\n    s.retry_all()") == [
        "retry_all"
    ]


def test_indexed_names_are_known() -> None:
    code = (
        "import requests\nfrom requests.adapters import HTTPAdapter\n\n"
        "s = requests.Session()\ns.mount('https://', HTTPAdapter())\nprint(s.get('u').json())\n"
    )
    assert unknown(code) == []


def test_invented_import_and_submodule_of_an_indexed_module_are_flagged() -> None:
    assert unknown("from requests.adapters import RetryAdapter") == ["RetryAdapter"]
    assert unknown("import requests.retrying") == ["retrying"]


def test_stdlib_and_modules_outside_the_index_are_trusted() -> None:
    code = (
        "import os, logging\nimport pandas as pd\nfrom urllib3.util import Retry\n\n"
        "log = logging.getLogger(__name__)\nlog.info(os.path.join('a', 'b'))\n"
        "frame = pd.read_csv('x.csv')\nframe.groupby('a').whatever_pandas_has()\n"
        "retry = Retry(total=3)\n"
    )
    assert unknown(code) == []


def test_builtin_type_methods_are_known_and_invented_ones_flagged() -> None:
    code = "words = 'a b'.split()\nprint(', '.join(words).upper(), {}.items(), [].append(1))\n"
    assert unknown(code) == []
    assert unknown("'abc'.shout()") == ["shout"]
    # A builtin-type method reached through an indexed object is real too.
    assert unknown("import requests\nrequests.Session().headers.update({})") == ["headers"]


def test_names_the_answer_defines_are_not_flagged() -> None:
    code = (
        "import requests\n\n"
        "class RetrySession(requests.Session):\n"
        "    def set_max_redirects(self, n):\n"
        "        self.max_redirects = n\n"
        "        self.helper()\n\n"
        "def build():\n    return RetrySession()\n\n"
        "build().set_max_redirects(3)\n"
        "requests.Session().set_max_redirects(2)\n"
    )
    report = check_code(code, "python", Index())
    assert report.unknown == []
    assert "set_max_redirects" not in report.used and "build" not in report.used


def test_a_bare_call_must_come_from_somewhere() -> None:
    assert unknown("retry_request('u')") == ["retry_request"]
    assert unknown("mount()") == []  # defined in the index
    assert unknown("print(len([]))") == []  # builtins
    # A star import from a module outside the index may bring any name.
    assert unknown("from somewhere import *\nretry_request('u')") == []


def test_the_index_is_asked_at_most_twice_and_never_about_stdlib() -> None:
    index, modules = Index(), Index()
    code = "import os, requests\nos.getcwd()\nrequests.Session().nope()"
    report = check_code(code, "python", index, modules)
    assert report.unknown == ["nope"]
    assert modules.asked == [["requests"]]  # modules: the top-level names outside stdlib
    assert len(index.asked) == 1 and {"Session", "nope"} <= set(index.asked[0])
    assert not {"os", "getcwd"} & set(index.asked[0])
    # Nothing to ask when the code uses only the standard library and builtins.
    quiet = Index()
    check_code("import os\nprint(os.getcwd())", "python", quiet, quiet)
    assert quiet.asked == []


def test_a_module_only_mentioned_in_indexed_code_is_not_indexed() -> None:
    """Team code that mentions `pandas` (a word of its code) does not put pandas in the
    index: its names stay trusted when the module look-up says so."""
    mentioned = Index(INDEX | {"pandas"})
    code = "import pandas as pd\npd.read_csv('x').groupby('a').agg_all()"
    assert check_code(code, "python", mentioned, Index()).unknown == []
    # Without the module look-up, `defined` answers for modules too (what read_csv returns
    # is of unknown type all the same).
    assert check_code(code, "python", mentioned).unknown == ["read_csv"]


def test_other_languages_and_broken_code_are_not_checked() -> None:
    index = Index()
    assert check_code("session.setMaxRedirects(5);", "java", index).unknown == []
    assert check_code("def broken(:", "python", index).unknown == []
    assert index.asked == []


def test_blocks_of_one_answer_are_read_together() -> None:
    blocks = [
        CodeBlock("python", "def fetch_all():\n    return []"),
        CodeBlock("", "import requests\nfetch_all()\nrequests.invented()"),
        CodeBlock("bash", "pip install requests"),
    ]
    assert check_blocks(blocks, "python", Index()).unknown == ["invented"]


def test_past_data_of_unknown_type_names_are_trusted() -> None:
    """`elapsed` is an attribute (a timedelta), not a module: what follows it is not the
    index's to know. A submodule keeps the check going."""
    code = "import requests\nr = requests.Session()\nr.elapsed.total_seconds()\nr.invented()"
    assert unknown(code) == ["elapsed", "invented"]  # `elapsed` itself must still exist
    assert unknown("import requests\nrequests.adapters.HTTPAdapter().nope()") == ["nope"]
    assert unknown("import requests\nrequests.adapters.Invented()") == ["Invented"]
    assert unknown("import requests\nprint(requests.__version__)") == []


def test_what_an_indexed_function_returns_is_of_unknown_type() -> None:
    """`load_frame` may return a pandas frame: its methods are not the index's to know."""
    index = Index(INDEX | {"bank", "loader", "load_frame"})
    code = "from bank import loader\ndf = loader.load_frame('x')\ndf.dropna().head()\n"
    assert unknown(code, index) == []
    assert unknown("import requests\nrequests.get('u').anything_it_returns()") == []
    # The function itself must still exist.
    assert unknown("from bank import loader\nloader.load_all().x()", index) == ["load_all"]


def test_an_instance_of_an_indexed_class_is_still_checked() -> None:
    index = Index(INDEX | {"bank", "loader"})
    assert unknown("from requests import Session\nSession().x()") == ["x"]
    assert unknown("import requests\nrequests.Session().x()") == ["x"]
    code = "from bank import loader\ns = loader.Session()\ns.dropna()"
    assert unknown(code, index) == ["dropna"]
