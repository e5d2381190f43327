"""The package's shape: modules of a readable size, no import circle, and
no private name taken from another package except through its own package."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpulogreg"
MAX_LINES = 400


def _modules():
    """``{dotted module name: path}`` for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(module, path):
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module, path):
    """``(line, imported dotted name)`` for every import in the module, at any depth
    (lazy imports inside functions count too): ``from a.b import c`` gives ``a.b.c``."""
    package = _package_of(module, path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def _internal(name):
    """The package module an imported name lives in (itself, or its parent), if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module):
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job"


def test_no_import_circle():
    """No module imports itself back through others (lazy imports included: a circle hidden
    in a function is still a circle)."""
    graph = {module: {target for _, name in _imports(module, path)
                      if (target := _internal(name)) and target != module}
             for module, path in MODULES.items()}
    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    circles = [cycle for module in sorted(graph) if (cycle := cycle_from(module))]
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def _private_owner(name):
    """For a dotted name with a private part (``_x``, not a dunder), the package that owns
    it: the part's parent package (or module's package), else None."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            owner = ".".join(parts[:i])
            return owner if owner not in MODULES or MODULES[owner].name == "__init__.py" \
                else owner.rpartition(".")[0]
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_private_names_stay_in_their_package(module):
    """A name with a leading underscore (module or attribute) is imported only inside the
    package that owns it: ``gpulogreg._backend`` anywhere in gpulogreg, ``_x`` of
    ``gpulogreg/loss/cpu/primitives.py`` only in ``gpulogreg.loss.cpu``. scikit-learn's and
    other libraries' private names come through ``gpulogreg._sklearn`` only."""
    path = MODULES[module]
    package = _package_of(module, path)
    bad = []
    for line, name in _imports(module, path):
        owner = _private_owner(name)
        if owner is None:
            continue
        if owner.split(".")[0] != "gpulogreg":
            if module != "gpulogreg._sklearn":
                bad.append(f"line {line}: {name} (another library's private name)")
        elif not (package == owner or package.startswith(owner + ".")):
            bad.append(f"line {line}: {name} (private to {owner})")
    assert not bad, f"{module} imports " + ", ".join(bad)
