"""How long each chapter took when its committed outputs were made, and which cells were long.

Reads the execution timestamps Jupyter writes into every executed code cell
(``metadata.execution``: ``iopub.execute_input`` → ``iopub.status.idle``) of the committed
notebooks, and prints per chapter: the summed cell time, the date of the run, and every cell over
``--long`` seconds with whether the markdown just before it warns about the wait (it mentions
"minut" or "second"). Nothing is re-run: the figures are those of the run whose outputs are
committed, on whatever machine and load it had; re-execute a notebook to refresh them.

    python benchmarks/chapter_times.py [--long 20] [notebooks/*.ipynb]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARNS = re.compile(r"minut|second", re.IGNORECASE)


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_seconds(cell: dict) -> float | None:
    """Seconds one executed code cell took, or None when it carries no timestamps."""
    run = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in run or "iopub.status.idle" not in run:
        return None
    return (_stamp(run["iopub.status.idle"]) - _stamp(run["iopub.execute_input"])).total_seconds()


def chapter(path: Path, long_s: float) -> dict:
    """Total seconds, run date and the long cells (with ``warned``) of one notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    total, long_cells, date, before = 0.0, [], None, ""
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            before = "".join(cell["source"])
            continue
        seconds = cell_seconds(cell)
        if seconds is None:
            continue
        date = date or cell["metadata"]["execution"]["iopub.execute_input"][:10]
        total += seconds
        if seconds > long_s:
            first = next((line for line in "".join(cell["source"]).splitlines() if line.strip()), "")
            long_cells.append({"cell": i, "seconds": seconds, "warned": bool(WARNS.search(before)), "code": first})
    return {"name": path.stem, "seconds": total, "date": date, "long": long_cells}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--long", type=float, default=20.0, help="seconds above which a cell counts as long")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    unwarned = 0
    print(f"{'chapter':26} {'run on':10} {'cells, s':>9}  long cells (> {args.long:.0f} s)")
    for path in paths:
        ch = chapter(path, args.long)
        longs = ", ".join(f"#{c['cell']} {c['seconds']:.0f} s{'' if c['warned'] else ' (NOT WARNED)'}"
                          for c in ch["long"]) or "-"
        unwarned += sum(not c["warned"] for c in ch["long"])
        print(f"{ch['name']:26} {ch['date'] or '-':10} {ch['seconds']:9.0f}  {longs}")
    print(f"long cells without a warning in the markdown before them: {unwarned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
