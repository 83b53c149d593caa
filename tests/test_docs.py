"""The documentation site builds with no warning, and a broken reference fails the build.

``make docs`` runs Sphinx with ``-W -n`` on ``docs/`` (the README, the Markdown pages, one API
page per public module, see ``docs/conf.py``). These tests run the same build into a temporary
directory, so the test command checks the site that a fresh clone would publish.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx", reason="the docs extra (part of the test extra) is not installed")


def sphinx(src: Path, out: Path) -> subprocess.CompletedProcess:
    """Run the build of ``make docs`` (fresh environment, warnings and broken references fail)."""
    cmd = [sys.executable, "-m", "sphinx", "-E", "-W", "-n", "--keep-going", "-q", "-b", "html",
           str(src), str(out)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def public_module_files() -> list[str]:
    """Dotted names of the installed package's modules, from the source trees (not from conf.py)."""
    names = []
    for pkg, top in (("streamsgns", ROOT / "streamsgns"), ("streamsgns.connectors", ROOT / "connectors")):
        for path in sorted(top.rglob("*.py")):
            rel = path.relative_to(top).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if any(p.startswith("_") for p in parts):  # private modules and __main__
                continue
            names.append(".".join([pkg, *parts]))
    return names


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "site"
    res = sphinx(DOCS, out)
    assert res.returncode == 0 and not res.stderr.strip(), (
        f"the documentation build warned or failed (make docs):\n{res.stderr}\n{res.stdout}")
    # the site has the guide, the pages of docs/ and an API page for every public module
    for page in ("index", "theory", "performance", "train", "api/index", "api/command-line"):
        assert (out / f"{page}.html").is_file(), page
    missing = [m for m in public_module_files() if not (out / "api" / f"{m}.html").is_file()]
    assert not missing, f"modules without an API page: {missing}"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "learn_many" in index  # the README is the site's first page


def test_a_broken_reference_fails_the_build(tmp_path):
    """A reference to a name that does not exist, also through a public alias, is an error."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""
        __file__ = {str(DOCS / 'conf.py')!r}
        exec(compile(open(__file__, encoding="utf-8").read(), __file__, "exec"))
        """))
    (src / "index.rst").write_text(textwrap.dedent("""
        Broken
        ======

        :py:func:`streamsgns.no_such_function` and :py:meth:`streamsgns.SGNS.no_such_method`.
        """))
    res = sphinx(src, tmp_path / "site")
    assert res.returncode != 0
    assert "streamsgns.no_such_function" in res.stderr
    assert "no_such_method" in res.stderr
