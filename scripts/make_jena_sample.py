"""Regenerate the bundled GENERATED Jena-format sample, seqexp/data/jena_sample.csv.zip.

It is not real weather: see seqexp/data/synthetic.py for the dynamics. Seeded, and the zip
entry carries a fixed date, so running this again writes the same bytes:
    .venv/bin/python scripts/make_jena_sample.py [OUT]     (OUT: elsewhere, for a comparison)
conf/dataset/jena-sample.yaml holds the splits and windows that fit this file.
"""

import sys
from pathlib import Path

from seqexp.data.synthetic import ROWS_PER_DAY, write_jena_csv

ROWS = 730 * ROWS_PER_DAY  # two years at 10-minute steps, 01.01.2009 00:10 to 01.01.2011 00:00
SEED = 2009

if __name__ == "__main__":
    bundled = Path(__file__).resolve().parent.parent / "seqexp" / "data" / "jena_sample.csv.zip"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else bundled
    write_jena_csv(target, rows=ROWS, seed=SEED)
    print(f"wrote {target} ({target.stat().st_size:,} bytes, {ROWS:,} rows)")
