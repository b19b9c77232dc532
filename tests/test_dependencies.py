"""Every third-party module the package imports is declared: a fresh install must not hit ModuleNotFoundError.

Imports at module level run on `import corridors...` and must be core dependencies. Imports inside a function may
come from an optional extra, but then the module must guard that package: a ``try`` importing it whose handler
turns ImportError into a clear message (the guard is usually one helper the other imports run after).
"""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "corridors"


def _norm(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _declared(repo: Path) -> tuple[set[str], set[str]]:
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_norm(d) for d in project["dependencies"]}
    extras = {_norm(d) for reqs in project["optional-dependencies"].values() for d in reqs} - {"corridors"}
    return core, extras


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when the import sits in the body of a try whose handlers catch ImportError."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) and node in parent.body:
            for h in parent.handlers:
                names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
        node = parent
    return False


def _type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test)


def _imports() -> list[tuple[str, str, bool, bool]]:
    """(top-level module, where, at module level, guarded in its module) for every absolute import."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if _type_checking(node, parents):
                continue
            top_level = parents.get(node) is tree or isinstance(parents.get(node), ast.If)
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("corridors", "__future__"):
                    continue
                found.append((top, f"{path.relative_to(SRC.parent)}:{node.lineno}", top_level, _guarded(node, parents)))
        guarded = {top for top, _, _, g in found if g}
        out += [(top, where, top_level, top in guarded) for top, where, top_level, _ in found]
    return out


def test_the_scan_sees_the_known_imports():
    tops = {top for top, *_ in _imports()}
    assert {"geopandas", "shapely", "pyproj", "numpy", "networkx", "folium"} <= tops


def test_every_import_is_declared(repo):
    core, extras = _declared(repo)
    dists = packages_distributions()
    problems = []
    for top, where, top_level, guarded in _imports():
        candidates = {d.lower().replace("_", "-") for d in dists.get(top, [])}
        if not candidates:
            problems.append(f"{where}: {top} is not installed here, so it cannot be checked (add it to an extra "
                            "that the test extra includes)")
        elif candidates & core:
            continue
        elif top_level:
            problems.append(f"{where}: {top} is imported when the package loads but is not in [project].dependencies")
        elif not candidates & extras:
            problems.append(f"{where}: {top} is in no dependency list; declare it (core or an extra)")
        elif not guarded:
            problems.append(f"{where}: optional {top} is imported without try/except ImportError naming the extra")
    assert not problems, "\n".join(problems)


def test_the_test_extra_installs_every_other_extra(repo):
    """So CI runs the optional code paths too (and the check above can see their modules)."""
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    own = [d.split("[", 1)[1] for d in extras["test"] if d.startswith("corridors[")]
    covered = set(re.findall(r"[a-z]+", " ".join(own)))
    runtime = set(extras) - {"test", "dev", "build", "notebooks"}
    assert runtime <= covered, f"add {sorted(runtime - covered)} to the test extra"
