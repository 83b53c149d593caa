"""The package's shape: one installed import package, no import cycle (imports inside functions
included), the core free of tooling, checkpointing free of the learner."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: source folder -> the import name it is installed under (pyproject.toml's package-dir)
PACKAGES = {"streamsgns": "streamsgns", "connectors": "streamsgns.connectors"}


def _modules(pkg: str) -> dict[str, Path]:
    out = {}
    for p in sorted((ROOT / pkg).rglob("*.py")):
        parts = list(p.relative_to(ROOT / pkg).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGES[pkg]] + parts)] = p
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` imported anywhere in the file (top level or inside functions)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                mod = ".".join(anchor + ([mod] if mod else []))
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    mods = {}
    for pkg in PACKAGES:
        mods.update(_modules(pkg))
    known = set(mods)
    return {m: _imports(m, p, known) for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search (one representative per back edge)."""
    cycles, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            # a package's __init__ importing its own submodules is how packages work, not a cycle
            if u == v.rpartition(".")[0] or v == u.rpartition(".")[0] and v in graph and u in graph[v]:
                continue
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u)
    return cycles


def test_no_import_cycle_anywhere_in_the_package():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_checkpointing_imports_nothing_of_the_learner():
    g = _graph()
    for mod in ("streamsgns.io.checkpoint", "streamsgns.io.checkpoint_v1", "streamsgns.io.snapshotter"):
        assert not g[mod] & {"streamsgns.learner", "streamsgns.persistence", "streamsgns.trainer"}, mod


def test_sgns_inherits_from_river_alone():
    """The learner's jobs are objects it holds (its exported vectors, its components), not mixins
    sharing its private fields: its one base is river's Transformer, and every public method is its own."""
    from river import base

    from streamsgns import SGNS
    from streamsgns.export import VectorExport

    assert SGNS.__bases__ == (base.Transformer,)
    for name in ("vectors", "keyed_vectors", "most_similar", "similarity", "transform_one", "fold_average",
                 "__getitem__", "__contains__", "state_dict", "from_state", "save", "load", "save_word2vec_format"):
        assert name in vars(SGNS), name
    assert isinstance(SGNS(vector_size=4, sketch_width=64, cooc_top_n=4, cooc_sketch_width=64)._export, VectorExport)


def test_kafka_source_inherits_from_source_alone():
    """The Kafka source's jobs (its consumer, positions, poll loop, commits, stop conditions) are
    objects it holds, not mixins sharing its private fields: its one base is ``Source``, and every
    method of the source's contract is its own (the learner's counterpart is the test above)."""
    from streamsgns.connectors.base import Source
    from streamsgns.connectors.kafka import KafkaSource
    from streamsgns.connectors.kafka.batching import Batching
    from streamsgns.connectors.kafka.connection import Connection

    assert KafkaSource.__bases__ == (Source,), KafkaSource.__bases__
    for name in ("chunks", "seek", "position", "commit", "lag", "stop", "close"):
        assert name in vars(KafkaSource), name
    src = KafkaSource("127.0.0.1:9", "t")  # nothing connects before chunks() is iterated
    assert isinstance(src._connection, Connection) and isinstance(src._batching, Batching)
    src.close()


def test_core_imports_no_tooling_and_no_connector():
    for mod, deps in _graph().items():
        assert not any(d.startswith("streamsgns_tools") for d in deps), mod
        # the drivers that wire a connector to the learner: the CLI, and a replica job's actors and driver
        drivers = ("streamsgns.cli", "streamsgns.distributed.job", "streamsgns.distributed.replica")
        if not mod.startswith(drivers + ("streamsgns.connectors",)):
            assert not any(d.startswith("streamsgns.connectors") for d in deps), (mod, deps)


def test_one_installed_import_package_and_every_subpackage_listed():
    """pyproject.toml installs every package of ``streamsgns/`` and ``connectors/``, all under
    ``streamsgns``, and nothing else (the tooling runs from the checkout)."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = {name for pkg in PACKAGES for name, p in _modules(pkg).items() if p.name == "__init__.py"}
    assert listed == found
    assert {name.split(".")[0] for name in listed} == {"streamsgns"}
    assert setup["package-dir"] == {name: folder for folder, name in PACKAGES.items()}


def test_make_demo_installs_the_library_alone(tmp_path):
    """`make demo` installs the package without extras (no test, benchmark or Ray dependency) and gets its
    evaluation sets without gensim; `make test` installs the extras. Read from what make would run."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def dry_run(target: str) -> str:
        r = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    demo = dry_run("demo")
    installs = [line.rstrip() for line in demo.splitlines() if " install " in line]
    assert installs and all("[" not in line for line in installs), installs  # no extras
    assert any(line.endswith("install --quiet -e .") for line in installs)
    assert "streamsgns_tools.corpora eval-sets" in demo and "--data-dir" in demo
    assert '-e ".[test,bench,ray]"' in dry_run("test")
