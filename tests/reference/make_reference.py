"""Write the reference W/C digests that ``tests/test_reference.py`` pins.

Run with the code whose behaviour is the reference (for issue 7: commit af64722, the last commit
before the kernel refactor)::

    python tests/reference/make_reference.py > tests/reference/reference_digests.json

With ``fastmath`` the float results depend on the CPU's vector width and on the LLVM version
(a reduction is summed in another order), so the digests are stored with the environment that
made them; the test compares only in the same environment and skips with a clear reason otherwise.
Re-run this script on the pre-change commit to re-pin on another machine.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from test_reference import CONFIGS, _digest, _train, environment  # noqa: E402

if __name__ == "__main__":
    out = {"environment": environment(), "configs": {}}
    for name, params in CONFIGS.items():
        out["configs"][name] = {"params": params, "digest": _digest(_train(params))}
    print(json.dumps(out, indent=1, sort_keys=True))
