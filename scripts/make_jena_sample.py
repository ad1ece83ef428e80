"""Regenerate the bundled GENERATED Jena-format sample, seqexp/data/jena_sample.csv.zip.

It is not real weather: see seqexp/data/synthetic.py. Seeded, so the file is reproducible:
    .venv/bin/python scripts/make_jena_sample.py
"""

from pathlib import Path

from seqexp.data.synthetic import write_jena_csv

ROWS = 20000  # ~139 days at 10-minute steps; conf/dataset/jena-sample.yaml splits it
SEED = 2009

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "seqexp" / "data" / "jena_sample.csv.zip"
    write_jena_csv(target, rows=ROWS, seed=SEED)
    print(f"wrote {target} ({target.stat().st_size:,} bytes, {ROWS} rows)")
