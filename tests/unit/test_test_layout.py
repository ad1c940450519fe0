"""The tests' own layout: shared builders live in tests/factories.py and tests/e2e/browser.py, fixtures in
conftest files; no module imports a test module or a conftest (pytest would load it twice, under two names, or
collect the tests it imports again)."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def _forbidden(dotted: str) -> bool:
    return any(part.startswith("test_") or part == "conftest" for part in dotted.split("."))


def _imported_modules(node: ast.AST) -> list[str]:
    """The dotted names an import statement may load: each module, and each name taken from a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        return [module] + [f"{module}.{alias.name}" for alias in node.names]
    return []


def offending_imports(source: str, filename: str) -> list[str]:
    """'file:line: import ...' for each import of a test module or a conftest in `source`, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if any(_forbidden(name) for name in _imported_modules(node)):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda line: int(line.split(":")[1]))


def test_no_module_imports_a_test_module_or_a_conftest():
    found = [line for path in sorted(TESTS.rglob("*.py"))
             for line in offending_imports(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS.parent)))]
    assert found == [], "Move shared builders to tests/factories.py (browser helpers: tests/e2e/browser.py) " \
                        "and fixtures to a conftest.py:\n" + "\n".join(found)


def test_the_check_sees_every_form_of_such_an_import():
    source = "\n".join(["import tests.conftest", "from tests.api.test_accounts import assert_problem",
                        "from tests.api import test_labelling", "from . import conftest", "from .test_x import y",
                        "def f():", "    from tests.e2e.conftest import screenshot",
                        "from tests.factories import PASSWORD", "from tests.e2e.browser import sign_in",
                        "import pytest"])
    assert [line.split(":")[1] for line in offending_imports(source, "x.py")] == ["1", "2", "3", "4", "5", "7"]
