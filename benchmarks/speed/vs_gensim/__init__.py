"""Modules of ``benchmarks/speed/bench_vs_gensim.py`` (streamsgns vs gensim Word2Vec), one concern each.

- :mod:`.corpus`: the corpus file and its token lists, with the learner's tokenizer;
- :mod:`.child`: one system in a fresh child process, with its peak RSS, CPU time and the
  fingerprint of the code it ran;
- :mod:`.run_gensim`: the gensim run (``e2e`` and ``train`` modes);
- :mod:`.run_streamsgns`: the streamsgns run (same modes);
- :mod:`.report`: quality scores, environment, medians, the printed table and the JSON file.
"""
