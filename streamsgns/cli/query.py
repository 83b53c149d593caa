"""``streamsgns similar``, ``evaluate`` and ``pmi``: questions asked of a snapshot."""

from __future__ import annotations

import json
import sys

__all__ = ["add_parsers", "cmd_similar", "cmd_evaluate", "cmd_pmi"]


def cmd_similar(args) -> int:
    from ..evaluate import _unit, load_vectors

    words, V = load_vectors(args.snapshot)
    index = {w: i for i, w in enumerate(words)}
    word = args.word.lower() if args.word not in index else args.word
    if word not in index:
        print(f"streamsgns: {args.word!r} is not in the vocabulary ({len(words)} words)", file=sys.stderr)
        return 1
    U = _unit(V)
    sims = U @ U[index[word]]
    sims[index[word]] = -float("inf")
    top = sims.argsort()[::-1][: args.topn]
    for i in top:
        print(f"{words[i]}\t{sims[i]:.4f}")
    return 0


def cmd_evaluate(args) -> int:
    from ..evaluate import evaluate_all, load_vectors

    words, V = load_vectors(args.snapshot)
    res = evaluate_all(words, V, wordsim=args.wordsim, simlex=args.simlex, analogies=args.analogies,
                       restrict_vocab=args.restrict_vocab)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        ws, sl, an = res["wordsim353"], res["simlex999"], res["analogies"]
        print(f"vocabulary      {len(words)}")
        print(f"WS-353          spearman {ws['spearman']:.4f}  ({ws['pairs']} pairs, {ws['oov']} OOV)")
        print(f"SimLex-999      spearman {sl['spearman']:.4f}  ({sl['pairs']} pairs, {sl['oov']} OOV)")
        print(f"Google analogy  accuracy {an['accuracy']:.4f}  ({an['correct']}/{an['questions']}, "
              f"{an['skipped']} skipped)")
    return 0


def cmd_pmi(args) -> int:
    from ..pmi import cli_pmi

    return cli_pmi(args)


def add_parsers(sub) -> None:
    """Add the ``similar``, ``evaluate`` and ``pmi`` sub-commands to ``sub``."""
    s = sub.add_parser("similar", help="nearest neighbours of a word")
    s.add_argument("snapshot", help="vectors file, checkpoint (.npz) or snapshot directory")
    s.add_argument("word")
    s.add_argument("--topn", type=int, default=10)
    s.set_defaults(func=cmd_similar)

    e = sub.add_parser("evaluate", help="WS-353, SimLex-999 and Google analogies")
    e.add_argument("snapshot", help="vectors file, checkpoint (.npz) or snapshot directory")
    e.add_argument("--wordsim", help="WS-353 file (default: gensim's test data)")
    e.add_argument("--simlex", help="SimLex-999 file (default: gensim's test data)")
    e.add_argument("--analogies", help="questions-words file (default: gensim's test data)")
    e.add_argument("--restrict-vocab", type=int, default=30000)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("pmi", help="compare W·Cᵀ with PMI − log k (and PPMI-SVD)")
    q.add_argument("checkpoint", help="checkpoint (.npz) or snapshot directory")
    q.add_argument("--top", type=int, default=1000, help="most frequent tracked words compared")
    q.add_argument("--min-count", type=int, default=1, help="only pairs with #(w,c) >= this")
    q.add_argument("--plot", help="PNG: scatter of W·Cᵀ against PMI − log k, and residuals")
    q.add_argument("--svd-dim", type=int, default=0, help="also build PPMI-SVD vectors of this dimension")
    q.add_argument("--svd-output", help="write the PPMI-SVD vectors (word2vec format) here")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_pmi)
