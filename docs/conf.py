"""Sphinx configuration of the streamsgns documentation site (``make docs``).

The site is the README (the user guide), the pages of ``docs/`` (Markdown, read by MyST) and an
API reference generated from the docstrings (numpydoc sections, reST roles). One page per public
module is written into ``docs/api/`` at every build (:func:`write_api_pages`), so a new module
cannot be forgotten. The build runs with ``-W -n`` (``make docs``, ``tests/test_docs.py``): every
warning, including a cross-reference that does not resolve, fails it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path


import streamsgns

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "streamsgns"
author = "the streamsgns authors"
copyright = "2026, the streamsgns authors"
release = streamsgns.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "api/_*"]
html_theme = "furo"
html_title = f"streamsgns {release}"

# Markdown pages: anchors for "page.md#section" links, and the $...$ of no page is math.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

# numpydoc renders the Parameters / Returns / Raises sections; the class pages list their
# methods through autodoc, not through numpydoc's member tables (which would list each twice).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False  # "Attributes" entries become targets of :attr: refs
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings state types, shapes and dtypes
# A class page shows the methods it inherits from the project's own classes (``FileSource.commit``),
# not those of river's base classes, of tuple (the kernels' namedtuple bundles) or of exceptions.
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "inherited-members": "Transformer,Estimator,Base,object,tuple,BaseException",
    "show-inheritance": False,
    "no-value": True,  # a constant's meaning is in its doc comment; its repr can fill a screen
}

# Every reference must resolve (-n), except names outside the project: numpy, scipy, river,
# kafka-python, Ray and the standard library have no inventory here (no network at build time).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sp|river|kafka|ray|numba|matplotlib|fsspec|tqdm)(\..*)?"),
    (r"py:.*", r"(typing|collections|pathlib|io|os|threading|signal|argparse|json|tempfile)\..*"),
    (r"py:class", r"(int|float|str|bytes|bool|dict|list|tuple|callable|object|None|Path)"),
]

#: Modules that are not documented: entry points that run on import.
SKIP = {"streamsgns.__main__", "streamsgns.cli.__main__"}


def public_modules() -> list[str]:
    """Every importable module of the installed package, private ones (``_name``) left out.

    ``streamsgns.connectors`` is installed from the top-level ``connectors/`` folder (setuptools
    ``package-dir``), so its tree is walked from there.

    Returns
    -------
    list of str
        Dotted module names, sorted.
    """
    names = []
    for pkg, path in (("streamsgns", ROOT / "streamsgns"), ("streamsgns.connectors", ROOT / "connectors")):
        names.append(pkg)
        for info in pkgutil.walk_packages([str(path)], prefix=pkg + "."):
            if info.name in SKIP or any(part.startswith("_") for part in info.name.split(".")):
                continue
            names.append(info.name)
    return sorted(set(names))


def _module_body(name: str) -> str:
    """The reST of one module's page: its docstring and members; a package lists its exports.

    A package's ``__all__`` re-exports names defined in its modules (``streamsgns.SGNS`` is
    ``streamsgns.learner.SGNS``): its page links each one to the page that documents it, rather
    than documenting it twice.
    """
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return f".. automodule:: {name}\n"
    lines = [f".. automodule:: {name}\n   :no-members:\n   :no-undoc-members:\n   :no-inherited-members:\n"]
    exports = [n for n in getattr(module, "__all__", []) if not n.startswith("_")]
    if exports:
        lines.append("Public names:\n")
        for export in exports:
            lines.append(f"* :py:obj:`{export} <{name}.{export}>`")
        lines.append("")
    return "\n".join(lines) + "\n"


def command_line_page() -> str:
    """The reST of the command-line reference: ``streamsgns --help`` and each command's help.

    Taken from the parser itself (:func:`streamsgns.cli.build_parser`), so the page is the help
    the installed version prints, at a fixed width of 100 columns.
    """
    import argparse
    import os

    from streamsgns.cli import build_parser

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    pages = [("streamsgns", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            pages += [(f"streamsgns {name}", sub) for name, sub in action.choices.items()]
    out = ["The command line\n================\n",
           "The help of ``streamsgns`` and of each of its commands, as the installed version prints it.\n"]
    for title, p in pages:
        head = f"``{title}``"
        body = "\n".join(f"   {line}".rstrip() for line in p.format_help().splitlines())
        out.append(f"{head}\n{'-' * len(head)}\n\n.. code-block:: text\n\n{body}\n")
    return "\n".join(out)


def write_api_pages() -> None:
    """Write ``docs/api/<module>.rst`` for every public module and the index page ``docs/api/index.rst``.

    Files are rewritten only when their text changes (Sphinx then rebuilds only what changed);
    pages of modules that no longer exist are removed.
    """
    api = DOCS / "api"
    api.mkdir(exist_ok=True)
    wanted = {}
    for name in public_modules():
        title = f"``{name}``"
        wanted[f"{name}.rst"] = f"{title}\n{'=' * len(title)}\n\n" + _module_body(name)
    wanted["command-line.rst"] = command_line_page()
    toc = "\n".join(f"   {name[:-4]}" for name in sorted(wanted))
    wanted["index.rst"] = (
        "API reference\n=============\n\n"
        "The command line's help, and every public module of the installed package, ``streamsgns``\n"
        "(the connectors included, as ``streamsgns.connectors``). Each module's page is its docstring\n"
        "and its public names.\n\n"
        f".. toctree::\n   :maxdepth: 1\n\n{toc}\n"
    )
    for old in api.glob("*.rst"):
        if old.name not in wanted:
            old.unlink()
    for fname, text in wanted.items():
        target = api / fname
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


def _public_alias(env, node, contnode):
    """Resolve a reference written with a public import path or a name imported into the module.

    ``streamsgns.SGNS.state_dict`` is documented as ``streamsgns.learner.SGNS.state_dict``, and
    ``Chunk`` in :mod:`streamsgns.connectors.files` is the ``Chunk`` it imports from
    :mod:`streamsgns.connectors.base`. The target is looked up as Python resolves it (in the
    current class, the current module, or from the top), the object found is asked for its
    defining module and qualified name, and the reference is resolved to that. A reference to a
    private name (``_poll``), or to a name that exists but is not in the reference (a constant
    outside its module's ``__all__``), renders as code. A name that Python cannot find warns.

    Returns
    -------
    docutils node or None
        The resolved reference; ``None`` leaves the warning to Sphinx.
    """
    target = node["reftarget"].lstrip("~.")
    if target.rsplit(".", 1)[-1].startswith("_"):
        return contnode
    module, klass = node.get("py:module"), node.get("py:class")
    found = False
    scopes = []
    if module:  # the class, the module, then each package above it (``pmi_matrix`` in pmi.report)
        scopes += [f"{module}.{klass}"] if klass else []
        parts = module.split(".")
        scopes += [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    scopes.append(None)
    for scope in scopes:
        obj = _lookup(scope, target)
        if obj is None:
            continue
        parent, attr, exists = obj
        found = found or exists
        canonical = _canonical(parent, attr)
        if canonical is None or canonical == target:
            continue
        domain = env.get_domain("py")
        builder = env.app.builder
        for role in (node["reftype"], "obj"):
            new = domain.resolve_xref(env, node["refdoc"], builder, role, canonical, node, contnode)
            if new is not None:
                return new
    # A name Python finds but the reference does not list (a constant outside ``__all__``, such
    # as ``kernels.PAUSE``): it exists, so it renders as code; a name that exists nowhere warns.
    return contnode if found else None


def _lookup(scope, dotted):
    """``(parent, name, exists)`` for the object ``dotted`` names inside ``scope`` (dotted, or None).

    ``exists`` is False for a name a class does not have as a class attribute (an instance
    attribute its docstring may document).
    """
    parts = dotted.split(".")
    base = scope.split(".") if scope else []
    for cut in range(len(base + parts), 0, -1):  # the longest importable prefix
        path = base + parts
        try:
            obj = importlib.import_module(".".join(path[:cut]))
        except Exception:
            continue
        rest = path[cut:]
        try:
            for name in rest[:-1]:
                obj = getattr(obj, name)
            if rest:
                if isinstance(obj, type) and not hasattr(obj, rest[-1]):
                    return obj, rest[-1], False  # maybe an instance attribute the class documents
                getattr(obj, rest[-1])
                return obj, rest[-1], True
            return None
        except AttributeError:
            return None
    return None


def _canonical(parent, attr):
    """Dotted name under which ``parent.attr`` is documented, or None."""
    if isinstance(parent, type):  # a method or attribute: documented on the class that has it
        owner = _canonical_type(parent)
        return f"{owner}.{attr}" if owner else None
    obj = getattr(parent, attr)
    inner = getattr(obj, "__wrapped__", obj)  # numba dispatchers wrap the Python function
    mod, qual = getattr(inner, "__module__", None), getattr(inner, "__qualname__", None)
    if mod and qual and mod.startswith("streamsgns"):
        return f"{mod}.{qual}"
    if isinstance(obj, type(importlib)):
        return obj.__name__
    return None


def _canonical_type(cls):
    mod, qual = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
    return f"{mod}.{qual}" if mod.startswith("streamsgns") else None


#: Files of the repository's root that the site publishes, and the page each one becomes.
ROOT_PAGES = {"README.md": "index", "CHANGELOG.md": "changelog"}


def readme_page(text: str) -> str:
    """The README as the site's first page: its links to ``docs/x.md`` and ``CHANGELOG.md`` point
    to the site's pages (on GitHub the same links open the files).

    Parameters
    ----------
    text : str
        README.md.

    Returns
    -------
    str
        Markdown for ``docs/index.md``'s place; ``index.md``'s own text (its tables of contents)
        is appended by :func:`_source_read`.
    """
    text = re.sub(r"\]\(docs/([^)]+)\)", r"](\1)", text)
    for name, page in ROOT_PAGES.items():
        text = text.replace(f"]({name})", f"]({page}.md)")
    return text


#: The site's tables of contents: (caption, pages in order). A page listed here that does not exist
#: is left out; a page of ``docs/`` listed nowhere is added to the first table, so that a new page
#: is published without an edit here.
CONTENTS = [
    ("Guides", ["how-it-works", "train", "kafka", "production", "scale-out", "drift"]),
    ("Method and measurements", ["theory", "pmi", "learning_rule", "kernel_speed", "performance"]),
    ("Reference", ["api/index", "changelog"]),
]


def site_contents() -> str:
    """The hidden MyST tables of contents of the first page, from :data:`CONTENTS` and ``docs/``."""
    present = {p.stem for p in DOCS.glob("*.md")} - {"index"}
    listed = {page for _, pages in CONTENTS for page in pages}
    blocks = []
    for i, (caption, pages) in enumerate(CONTENTS):
        keep = [p for p in pages if p in present or p.startswith("api/")]
        if i == 0:
            keep += sorted(present - listed)
        entries = "\n".join(keep)
        blocks.append(f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{entries}\n```\n")
    return "\n".join(blocks)


def _source_read(app, docname, source):
    if docname == "index":
        readme = readme_page((ROOT / "README.md").read_text(encoding="utf-8"))
        source[0] = readme + "\n" + source[0] + "\n" + site_contents()


def setup(app):
    app.connect("missing-reference", lambda app, env, node, contnode: _public_alias(env, node, contnode))
    app.connect("source-read", _source_read)


write_api_pages()
