"""Which way the imports go (docs/architecture.md): read from the source, nothing imported.

`mind` is the core and imports none of the service; inside it only the CLI reaches its
commands; the web app never reaches the worker (except its own CLI, which starts one);
and no module imports itself back through others. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mind", "app", "worker", "experiments")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports; `from pkg import mod` names `pkg.mod`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= submodules & known or {node.module}
    return {name for name in found if name.split(".")[0] in PACKAGES}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, set(modules)) for name, path in modules.items()}


def _violations(graph: dict[str, set[str]], source: str, target: str, allowed=()) -> list[str]:
    return [
        f"{module} imports {imported}"
        for module, imports in sorted(graph.items())
        if (module == source or module.startswith(source + ".")) and module not in allowed
        for imported in sorted(imports)
        if imported == target or imported.startswith(target + ".")
    ]


def test_the_reader_sees_lazy_and_package_imports(graph: dict[str, set[str]]) -> None:
    assert "mind.training_run" in graph["mind.commands.train"]  # imported inside run()
    assert "app.runs.service" in graph["app.pages.runs"]  # `from app.runs import service`


@pytest.mark.parametrize("service", ["app", "worker", "experiments"])
def test_mind_imports_none_of_the_service(graph: dict[str, set[str]], service: str) -> None:
    assert _violations(graph, "mind", service) == []


def test_only_the_cli_reaches_the_commands(graph: dict[str, set[str]]) -> None:
    inside = [m for m in graph if m.startswith("mind.commands")]
    assert _violations(graph, "mind", "mind.commands", allowed=("mind.cli", *inside)) == []


def test_the_web_app_never_reaches_the_worker(graph: dict[str, set[str]]) -> None:
    assert _violations(graph, "app", "worker", allowed=("app.cli",)) == []


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_pages_call_services_not_api_routes(graph: dict[str, set[str]]) -> None:
    routers = {m for m in graph if m.startswith("app.") and m.endswith(".router")}
    assert (
        routers
        and [
            f"{page} imports {router}"
            for page in graph
            if page.startswith("app.pages")
            for router in sorted(graph[page] & routers)
        ]
        == []
    )
