"""Run every benchmark of issue 14 in one go and print each one's ratios and verdicts, then the verdict lines
together. Each script measures its own baseline in the same run (see its docstring for why that baseline is a
floor); this file only runs them one after another, each in a fresh interpreter, so none warms another's caches.

Run: python bench/run_all.py [--quick]   (--quick: bench_maps without its 10^5-line case)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_analysis.py", "bench_routes.py", "bench_route_rest.py", "bench_places.py", "bench_startup.py",
           "bench_maps.py"]
VERDICT = re.compile(r"\b(ok|MISSED|met|not met|NOT MET)\b")


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent / "src"),
                                                                     os.environ.get("PYTHONPATH")])))
    verdicts: list[str] = []
    for name in SCRIPTS:
        args = [sys.executable, str(HERE / name)] + (["--quick"] if quick and name == "bench_maps.py" else [])
        print(f"\n=== {name}", flush=True)
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        print(out.stdout, end="")
        if out.returncode:
            print(out.stderr, end="")
            verdicts.append(f"{name}: FAILED (exit {out.returncode})")
        verdicts += [f"{name}: {line.strip()}" for line in out.stdout.splitlines() if VERDICT.search(line)]
    print("\n=== verdicts")
    print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
