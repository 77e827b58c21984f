"""The layering of ARCHITECTURE.md, held against the code by an AST import graph of minicors/.

Every `import` and `from ... import` of every module counts, wherever it sits (a function's
lazy import too), with relative imports resolved: `from .x import y` names the module
`x`, and `from . import y` names the module `y` when `y` is one, else the package.  A
package's own modules are not counted as imported by importing one of them (Python runs
the parents' `__init__` first, but that is not an arrow of the design).

One test per rule, so a failure names the rule:

(a) the pure parts do no I/O: protocol/, cors/, proxy/ and the pure jsonapi modules
    (`PURE_JSONAPI`: the store, the query language and its caches) import neither trio,
    socket, asyncio, anyio, httpx nor httpcore; cors/ and those jsonapi modules import neither
    `os` nor `logging` either, and they reach neither jsonapi/persist.py nor jsonapi/api.py
    (what the per-package tests this file replaced held them to);
(b) h11 only in protocol/;
(c) trio only in server/, jsonapi/api.py, jsonapi/persist.py, reload/hub.py and
    jsonapi/feed.py (the two places besides the API that wait for events themselves: the
    --reload event stream and the API's change feed);
(d) server/ knows the app only as `minicors.app`: nothing from cors/, static/, jsonapi/;
(e) a package's `__init__` is its face: no module outside a package imports its inner
    modules;
(f) no import cycles between minicors modules (imports under `if TYPE_CHECKING:` run only
    for the type checker and are left out of this rule alone);
(g) no module over 400 lines and no class over 250 lines.

`test_each_rule_catches_a_planted_breach` runs every rule on a small made-up package in
which each one is broken, so none of them can pass by checking nothing.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "minicors"

NO_IO = frozenset({"trio", "socket", "asyncio", "anyio", "httpx", "httpcore"})
PURE_EXTRA = frozenset({"os", "logging"})  # cors/ and the pure jsonapi modules: not even these
# The API's pure modules: the store, the query language and what the queries keep to be fast.
PURE_JSONAPI = (
    "store", "query", "like", "like_syntax", "index", "columns", "search", "textfind",
    "ordering", "relations", "params", "lists", "encoder",
)  # fmt: skip
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


@dataclass(frozen=True)
class Import:
    importer: str  # dotted name of the importing module (a package by its own name)
    target: str  # the dotted name imported: a minicors module or package, or an outside one
    line: int
    type_checking: bool  # under `if TYPE_CHECKING:`

    @property
    def top(self) -> str:
        return self.target.split(".")[0]

    def __str__(self) -> str:
        where = " (TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.importer}:{self.line} imports {self.target}{where}"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    lines: int


@dataclass(frozen=True)
class Graph:
    root: str  # the top package's name
    modules: dict[str, Module]
    imports: tuple[Import, ...]

    def internal(self, imp: Import) -> bool:
        return imp.target in self.modules


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def walk_imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, and whether it sits under `if TYPE_CHECKING:`."""

    def visit(node: ast.AST, guarded: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, guarded
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for statement in node.body:
                yield from visit(statement, True)
            for statement in node.orelse:
                yield from visit(statement, guarded)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, guarded)

    yield from visit(tree, False)


def resolve(module: Module, node: ast.Import | ast.ImportFrom, names: set[str]) -> list[str]:
    """The dotted names one statement imports (relative ones made absolute)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        parts = package.split(".")
        if node.level - 1 >= len(parts):
            raise AssertionError(f"{module.path}: relative import beyond the top package")
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, node.module] if node.module else parts)
    out = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        out.append(candidate if candidate in names else base)
    return out


def build_graph(source: Path) -> Graph:
    modules: dict[str, Module] = {}
    for path in sorted(source.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(source, path)
        modules[name] = Module(
            name=name,
            path=path,
            is_package=path.name == "__init__.py",
            tree=ast.parse(text, filename=str(path)),
            lines=len(text.splitlines()),
        )
    names = set(modules)
    imports = []
    for module in modules.values():
        for node, guarded in walk_imports(module.tree):
            for target in resolve(module, node, names):
                imports.append(Import(module.name, target, node.lineno, guarded))
    return Graph(root=source.name, modules=modules, imports=tuple(imports))


@functools.cache
def minicors_graph() -> Graph:
    return build_graph(SOURCE)


def inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# --- the rules: each returns its breaches, one line each --------------------------------------


def pure_io_breaches(graph: Graph) -> list[str]:
    root = graph.root
    pure_api = {f"{root}.jsonapi.{name}" for name in PURE_JSONAPI}
    io_api = {f"{root}.jsonapi.persist", f"{root}.jsonapi.api"}
    out = []
    for imp in graph.imports:
        cors = inside(imp.importer, f"{root}.cors")
        api = imp.importer in pure_api
        pure = inside(imp.importer, f"{root}.protocol") or inside(imp.importer, f"{root}.proxy")
        if not (cors or api or pure):
            continue
        if imp.top in NO_IO:
            out.append(f"{imp}: pure modules do no I/O")
        elif imp.top in PURE_EXTRA and (cors or api):
            out.append(f"{imp}: cors/ and the pure API modules use neither os nor logging")
        elif api and imp.target in io_api:
            out.append(f"{imp}: the pure API modules do not reach persistence")
    return out


def h11_breaches(graph: Graph) -> list[str]:
    return [
        f"{imp}: h11 belongs to {graph.root}.protocol"
        for imp in graph.imports
        if imp.top == "h11" and not inside(imp.importer, f"{graph.root}.protocol")
    ]


def trio_breaches(graph: Graph) -> list[str]:
    root = graph.root
    allowed = (
        f"{root}.server",
        f"{root}.jsonapi.api",
        f"{root}.jsonapi.persist",
        f"{root}.reload.hub",
        f"{root}.jsonapi.feed",
    )
    return [
        f"{imp}: trio belongs to {root}.server (and the API's persistence, the reload hub)"
        for imp in graph.imports
        if imp.top == "trio" and not any(inside(imp.importer, place) for place in allowed)
    ]


def server_breaches(graph: Graph) -> list[str]:
    root = graph.root
    handlers = (f"{root}.cors", f"{root}.static", f"{root}.jsonapi")
    return [
        f"{imp}: the server knows the app only through {root}.app"
        for imp in graph.imports
        if inside(imp.importer, f"{root}.server")
        and any(inside(imp.target, handler) for handler in handlers)
    ]


def facade_breaches(graph: Graph) -> list[str]:
    """An import of a.b.c.d needs the importer inside a.b.c and inside a.b (the top package
    holds every module, so its own modules are open to all)."""
    out = []
    for imp in graph.imports:
        if not graph.internal(imp):
            continue
        parts = imp.target.split(".")
        for depth in range(2, len(parts)):
            package = ".".join(parts[:depth])
            if not inside(imp.importer, package):
                out.append(f"{imp}: go through {package}'s __init__")
                break
    return out


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one module (or one importing itself),
    over the imports that run (not the TYPE_CHECKING ones), by Tarjan's algorithm."""
    edges: dict[str, set[str]] = {name: set() for name in graph.modules}
    for imp in graph.imports:
        if graph.internal(imp) and not imp.type_checking:
            edges[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                found.append(sorted(group))

    for name in sorted(edges):
        if name not in index:
            connect(name)
    return found


def cycle_breaches(graph: Graph) -> list[str]:
    out = []
    for group in cycles(graph):
        members = set(group)
        arrows = sorted(
            {
                str(imp)
                for imp in graph.imports
                if imp.importer in members and imp.target in members and not imp.type_checking
            }
        )
        out.append(f"cycle among {', '.join(group)}: " + "; ".join(arrows))
    return out


def size_breaches(graph: Graph) -> list[str]:
    out = []
    for module in graph.modules.values():
        if module.lines > MAX_MODULE_LINES:
            out.append(f"{module.name}: {module.lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > MAX_CLASS_LINES:
                    out.append(
                        f"{module.name}.{node.name}: a class of {length} lines "
                        f"(at most {MAX_CLASS_LINES})"
                    )
    return out


def report(rule: str, breaches: list[str]) -> str:
    return f"{rule}: {len(breaches)} breach(es)\n  " + "\n  ".join(breaches)


# --- the rules on minicors/ -------------------------------------------------------------------


def test_the_graph_sees_the_whole_package() -> None:
    graph = minicors_graph()
    for package in ("protocol", "server", "cors", "static", "jsonapi"):
        assert f"minicors.{package}" in graph.modules
    for name in ("app", "messages", "errors", "conditional", "config", "cli"):
        assert f"minicors.{name}" in graph.modules
    # The resolver sees relative imports: the server reaches the app and the protocol.
    server_targets = {i.target for i in graph.imports if inside(i.importer, "minicors.server")}
    assert {"minicors.app", "minicors.protocol", "trio"} <= server_targets


def test_a_pure_parts_do_no_io() -> None:
    breaches = pure_io_breaches(minicors_graph())
    assert not breaches, report("(a) pure parts do no I/O", breaches)


def test_b_h11_only_in_the_protocol() -> None:
    breaches = h11_breaches(minicors_graph())
    assert not breaches, report("(b) h11 only under minicors/protocol/", breaches)


def test_c_trio_only_in_the_server_and_the_api_persistence() -> None:
    breaches = trio_breaches(minicors_graph())
    place = "(c) trio only in server/, jsonapi/api.py, persist.py, reload/hub.py, feed.py"
    assert not breaches, report(place, breaches)


def test_d_the_server_knows_no_handler() -> None:
    breaches = server_breaches(minicors_graph())
    assert not breaches, report("(d) server/ imports no cors/, static/, jsonapi/", breaches)


def test_e_packages_are_entered_through_their_init() -> None:
    breaches = facade_breaches(minicors_graph())
    assert not breaches, report("(e) no inner module imported from outside its package", breaches)


def test_f_no_import_cycles() -> None:
    breaches = cycle_breaches(minicors_graph())
    assert not breaches, report("(f) no import cycles (TYPE_CHECKING imports ignored)", breaches)


def test_g_modules_and_classes_stay_small() -> None:
    breaches = size_breaches(minicors_graph())
    assert not breaches, report(
        f"(g) modules <= {MAX_MODULE_LINES} lines, classes <= {MAX_CLASS_LINES} lines", breaches
    )


# --- the rules can fail -----------------------------------------------------------------------

PLANTED = {
    "__init__.py": "from .server import run\n",
    "app.py": "from .cors.policy import decide\n",  # (e)
    "messages.py": "import h11\nfrom . import errors\n",  # (b), and half of a cycle (f)
    "errors.py": "from .messages import Request\n",  # the other half (f)
    "protocol/__init__.py": "",
    "protocol/conn.py": "import trio\n",  # (a) and (c)
    "server/__init__.py": "from .loop import run\n",
    "server/loop.py": "import trio\nfrom .. import app\nfrom ..static import files\n",  # (d)
    "cors/__init__.py": "from .policy import decide\n",
    "cors/policy.py": (
        "import logging\n"  # (a): cors/ uses no logging
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .. import app\n"  # a type-only cycle: not (f)
        "def decide() -> None:\n    import socket\n"  # (a), a lazy import
    ),
    "static/__init__.py": "files = 1\n",
    "jsonapi/__init__.py": "",
    "jsonapi/store.py": "from .persist import save\n",  # (a): the pure API reaches persist
    "jsonapi/persist.py": "import trio\ndef save() -> None: ...\n",  # allowed
    "big.py": "x = 1\n" * (MAX_MODULE_LINES + 1),  # (g)
    "klass.py": "class Big:\n" + "    x = 1\n" * MAX_CLASS_LINES,  # (g): 251 lines
}

EXPECTED: dict[Callable[[Graph], list[str]], set[str]] = {
    pure_io_breaches: {
        "planted.protocol.conn:1 imports trio",
        "planted.cors.policy:1 imports logging",
        "planted.cors.policy:6 imports socket",
        "planted.jsonapi.store:1 imports planted.jsonapi.persist",
    },
    h11_breaches: {"planted.messages:1 imports h11"},
    trio_breaches: {"planted.protocol.conn:1 imports trio"},
    server_breaches: {"planted.server.loop:3 imports planted.static"},
    facade_breaches: {"planted.app:1 imports planted.cors.policy"},
    cycle_breaches: {"cycle among planted.errors, planted.messages"},
    size_breaches: {"planted.big: 401 lines", "planted.klass.Big: a class of 251 lines"},
}


@pytest.fixture
def planted(tmp_path: Path) -> Graph:
    source = tmp_path / "planted"
    for name, text in PLANTED.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return build_graph(source)


@pytest.mark.parametrize("rule", list(EXPECTED), ids=[rule.__name__ for rule in EXPECTED])
def test_each_rule_catches_a_planted_breach(
    planted: Graph, rule: Callable[[Graph], list[str]]
) -> None:
    found = rule(planted)
    for expected in EXPECTED[rule]:
        assert sum(line.startswith(expected) for line in found) == 1, (expected, found)
    assert len(found) == len(EXPECTED[rule]), found
