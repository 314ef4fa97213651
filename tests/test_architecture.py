"""The layering rules, checked over the source of app/.

Each rule is a function over a ``Tree`` (module name -> source text). The real tree must
break none of them; each rule is also shown to catch a small tree built to break it, so a
rule that could never fail cannot hide here.

The rules: only ``services/ledger/`` writes ledger rows; only the Stripe module imports
``stripe``; only ``services/search/`` imports ``whoosh``; views run no queries; services
import no presenters and no request state; no module uses another module's private names;
no import cycles between modules (imports inside functions count, and importing a module
runs its packages' ``__init__``); outside a package, its functions are looked up on its
facade at call time; no module over 500 lines and no function over 60 (unless its
docstring says why it must be one piece).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEDGER_WRITER = "app.services.ledger"
LEDGER_MODELS = {"LedgerAccount", "LedgerEntry", "LedgerTransaction", "LedgerHold"}
STRIPE_MODULE = "app.services.card_payments.stripe_api"
SEARCH_PACKAGE = "app.services.search"
VIEW_PACKAGES = (
    "app.public",
    "app.auth",
    "app.account",
    "app.enquiries",
    "app.citizen",
    "app.provider",
    "app.commissioner",
    "app.admin",
    "app.api",
    "app.openreferral",
    "app.webhooks",
    "app.presenters",
)
REQUEST_STATE = {
    ("flask", "request"),
    ("flask", "session"),
    ("flask", "g"),
    ("flask", "flash"),
    ("flask", "abort"),
    ("flask_login", "current_user"),
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
ONE_PIECE = "one piece"  # a longer function's docstring says why it must be one piece


@dataclass
class Tree:
    """Python modules by dotted name, with their source; packages are ``pkg`` for ``pkg/__init__.py``."""

    sources: dict[str, str]
    packages: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, root: Path, top: str = "app") -> Tree:
        sources, packages = {}, set()
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
                packages.add(".".join(parts))
            sources[".".join(parts)] = path.read_text()
        return cls(sources, packages)

    @classmethod
    def made(cls, **sources: str) -> Tree:
        """A small tree for a test: ``made(**{"app.x": "..."})``; ``app.p.__init__`` makes a package."""
        tree = cls({}, set())
        for name, text in sources.items():
            if name.endswith(".__init__"):
                name = name.removesuffix(".__init__")
                tree.packages.add(name)
            tree.sources[name] = text
        return tree

    @cached_property
    def asts(self) -> dict[str, ast.Module]:
        return {name: ast.parse(text) for name, text in self.sources.items()}

    def package_of(self, module: str) -> str:
        return module if module in self.packages else module.rpartition(".")[0]

    def resolve(self, module: str, node: ast.ImportFrom) -> str:
        """The absolute module a ``from ... import`` names (relative imports included)."""
        if not node.level:
            return node.module or ""
        base = self.package_of(module).split(".")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def imports(self, module: str) -> list[tuple[str, str | None, int]]:
        """(module imported, name taken from it or None, line) for every import, wherever it is."""
        found = []
        for node in ast.walk(self.asts[module]):
            if isinstance(node, ast.Import):
                found += [(alias.name, None, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = self.resolve(module, node)
                found += [(source, alias.name, node.lineno) for alias in node.names]
        return found

    def targets(self, module: str) -> set[str]:
        """The modules of the tree that importing in ``module`` runs: each module named,
        and the packages above it that ``module`` is not already inside."""
        found = set()
        for source, name, _ in self.imports(module):
            target = f"{source}.{name}" if name and f"{source}.{name}" in self.sources else source
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                above = ".".join(parts[:i])
                if above in self.sources and above != module and not (module + ".").startswith(above + ".") and above != target:
                    found.add(above)
            if target in self.sources and target != module:
                found.add(target)
        return found


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


# The rules ------------------------------------------------------------------------------------


def ledger_writers(tree: Tree) -> list[str]:
    """Code outside the ledger package that makes ledger rows or touches their tables."""
    found = []
    for module, node in _walk(tree):
        if _in(module, LEDGER_WRITER):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in LEDGER_MODELS:
            found.append(f"{module}:{node.lineno} makes a {node.func.id}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "__table__"
            and isinstance(node.value, ast.Name)
            and node.value.id in LEDGER_MODELS
        ):
            found.append(f"{module}:{node.lineno} uses {node.value.id}.__table__")
    return found


def importers_of(tree: Tree, top: str, allowed: str) -> list[str]:
    """Modules outside ``allowed`` that import ``top`` (or anything under it)."""
    return [
        f"{module}:{line} imports {source}"
        for module in tree.sources
        if not _in(module, allowed)
        for source, _, line in tree.imports(module)
        if source == top or source.startswith(top + ".")
    ]


def view_queries(tree: Tree) -> list[str]:
    """Views and presenters that reach the database themselves."""
    found = []
    for module in tree.sources:
        if not _in(module, *VIEW_PACKAGES):
            continue
        for source, name, line in tree.imports(module):
            if source == "sqlalchemy" or (source.startswith("sqlalchemy.") and source != "sqlalchemy.exc"):
                found.append(f"{module}:{line} imports {source}")
            if source == "app.extensions" and name == "db":
                found.append(f"{module}:{line} imports the database session")
    return found


def services_reaching_up(tree: Tree) -> list[str]:
    """Services that import presenters or the state of a web request."""
    found = []
    for module in tree.sources:
        if not _in(module, "app.services"):
            continue
        for source, name, line in tree.imports(module):
            if _in(source, "app.presenters") or (source, name) in REQUEST_STATE:
                found.append(f"{module}:{line} imports {source}{'.' + name if name else ''}")
    return found


def private_names_across_modules(tree: Tree) -> list[str]:
    """``from m import _x`` or ``m._x`` where ``m`` is another module of the tree."""
    found = []
    for module, module_ast in tree.asts.items():
        aliases = {}
        for node in ast.walk(module_ast):
            if isinstance(node, ast.ImportFrom):
                source = tree.resolve(module, node)
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") and source in tree.sources:
                        found.append(f"{module}:{node.lineno} imports {source}.{alias.name}")
                    if f"{source}.{alias.name}" in tree.sources:
                        aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in tree.sources:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(module_ast):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and aliases.get(node.value.id, module) != module
            ):
                found.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return found


def import_cycles(tree: Tree) -> list[str]:
    """Each cycle in the graph of which module's import runs which (Tarjan's components)."""
    graph = {module: sorted(tree.targets(module)) for module in tree.sources}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(" <-> ".join(sorted(component)))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def functions_taken_from_facades(tree: Tree) -> list[str]:
    """``from pkg import f`` outside package ``pkg`` binds ``f`` once, so a patch on the facade
    never reaches it: outside a package, its functions are looked up on it at call time."""
    found = []
    for module in tree.sources:
        for source, name, line in tree.imports(module):
            if source not in tree.packages or _in(module, source) or not name or f"{source}.{name}" in tree.sources:
                continue
            if name in _functions_defined_under(tree, source):
                found.append(f"{module}:{line} takes the function {source}.{name} from its facade")
    return found


def _functions_defined_under(tree: Tree, package: str) -> set[str]:
    return {
        node.name
        for module, module_ast in tree.asts.items()
        if module.startswith(package + ".")
        for node in module_ast.body
        if isinstance(node, ast.FunctionDef)
    }


def oversized(tree: Tree) -> list[str]:
    found = []
    for module, text in tree.sources.items():
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{module} has {lines} lines")
    for module, node in _walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and ONE_PIECE not in (ast.get_docstring(node) or ""):
                found.append(f"{module}:{node.lineno} {node.name} has {length} lines")
    return found


def _walk(tree: Tree):
    for module, module_ast in tree.asts.items():
        for node in ast.walk(module_ast):
            yield module, node


RULES = [
    ("only the ledger writes ledger rows", ledger_writers),
    ("only the Stripe module imports stripe", lambda tree: importers_of(tree, "stripe", STRIPE_MODULE)),
    ("only search imports whoosh", lambda tree: importers_of(tree, "whoosh", SEARCH_PACKAGE)),
    ("views run no queries", view_queries),
    ("services import no presenters and no request state", services_reaching_up),
    ("no private names across modules", private_names_across_modules),
    ("no import cycles", import_cycles),
    ("facade functions are looked up at call time", functions_taken_from_facades),
    ("no module over 500 lines, no function over 60", oversized),
]


@pytest.fixture(scope="module")
def app_tree() -> Tree:
    return Tree.of(ROOT)


@pytest.mark.parametrize(("rule", "check"), RULES, ids=[name for name, _ in RULES])
def test_the_tree_keeps_the_rule(app_tree, rule, check):
    assert check(app_tree) == [], rule


# Each rule fails on a tree built to break it ---------------------------------------------------

BROKEN = {
    "only the ledger writes ledger rows": Tree.made(
        **{"app.services.gift": "from app.models import LedgerEntry\n\ndef give():\n    return LedgerEntry(amount_pence=1)\n"}
    ),
    "only the Stripe module imports stripe": Tree.made(**{"app.services.bookings.creation": "import stripe\n"}),
    "only search imports whoosh": Tree.made(**{"app.public.routes": "from whoosh.qparser import QueryParser\n"}),
    "views run no queries": Tree.made(**{"app.citizen.routes": "from app.extensions import db\nfrom sqlalchemy import select\n"}),
    "services import no presenters and no request state": Tree.made(
        **{"app.services.budgets.figures": "from flask import request\nfrom app.presenters.budgets import statement_view\n"}
    ),
    "no private names across modules": Tree.made(
        **{
            "app.services.cards": "from app.services import bookings\n\ndef f(b):\n    bookings._event(b)\n",
            "app.services.bookings": "def _event(b):\n    pass\n",
        }
    ),
    "no import cycles": Tree.made(
        **{
            "app.services.budgets.__init__": "from app.services.budgets.funding import fund\n",
            "app.services.budgets.funding": "def fund():\n    from app.services.bookings.visits import hold\n",
            "app.services.bookings.__init__": "from app.services.bookings.visits import hold\n",
            "app.services.bookings.visits": "from app.services.bookings.creation import create\n\ndef hold():\n    pass\n",
            "app.services.bookings.creation": "from app.services.budgets import fund\n\ndef create():\n    pass\n",
        }
    ),
    "facade functions are looked up at call time": Tree.made(
        **{
            "app.services.bookings.__init__": "from app.services.bookings.creation import create\n",
            "app.services.bookings.creation": "def create():\n    pass\n",
            "app.citizen.routes": "from app.services.bookings import create\n",
        }
    ),
    "no module over 500 lines, no function over 60": Tree.made(
        **{
            "app.services.long": "def long():\n" + "    x = 1\n" * 60,
            "app.services.big": "x = 1\n" * 501,
        }
    ),
}


@pytest.mark.parametrize(("rule", "check"), RULES, ids=[name for name, _ in RULES])
def test_each_rule_fails_on_a_tree_that_breaks_it(rule, check):
    assert check(BROKEN[rule]), f"the rule '{rule}' did not notice a tree built to break it"


def test_the_cycle_rule_counts_imports_inside_functions_and_package_inits():
    """The broken tree's cycle runs through an import inside a function and two package
    ``__init__`` modules; without either, there is none."""
    cycle = import_cycles(BROKEN["no import cycles"])
    assert cycle and "app.services.budgets" in cycle[0] and "app.services.budgets.funding" in cycle[0]
    untied = Tree.made(
        **{
            "app.services.budgets.__init__": "from app.services.budgets.funding import fund\n",
            "app.services.budgets.funding": "from app.services.bookings.visits import hold\n\ndef fund():\n    pass\n",
            "app.services.bookings.__init__": "from app.services.bookings.visits import hold\n",
            "app.services.bookings.visits": "def hold():\n    pass\n",
        }
    )
    assert import_cycles(untied) == []


def test_a_longer_function_may_say_why_it_is_one_piece():
    body = "    x = 1\n" * 60
    assert oversized(Tree.made(**{"app.x": f'def f():\n    """Kept as one piece: each step needs the lock above."""\n{body}'})) == []
    assert oversized(Tree.made(**{"app.x": f'def f():\n    """Does a lot."""\n{body}'}))


def test_a_patch_on_a_facade_that_nothing_would_see_is_refused(monkeypatch):
    """A sealed facade refuses a patch of a name its own package reads (the patch would
    change nothing there), and allows one of a name only callers outside look up on it."""
    from app.services import bookings
    from app.services.facade import SealedPackageError

    with pytest.raises(SealedPackageError, match="Patch it in the module that looks it up"):
        monkeypatch.setattr(bookings, "cancellation_plan", lambda *a, **k: None)
    with pytest.raises(SealedPackageError):
        monkeypatch.setattr(bookings, "no_such_name", 1, raising=False)
    monkeypatch.setattr(bookings, "get_booking", lambda public_id: public_id)  # only looked up on the facade
    assert bookings.get_booking("x") == "x"
