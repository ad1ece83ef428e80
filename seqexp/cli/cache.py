"""``seqexp-cache``: where seqexp's caches are, how big, and clearing them
(:mod:`seqexp.data.download` keeps them)."""

from __future__ import annotations

import shutil
import sys

from seqexp import console
from seqexp.data import download


def main(argv: list[str] | None = None) -> None:
    """``seqexp-cache``: where seqexp's caches are, how big, and clearing them."""
    console.quiet()
    parser = console.ArgumentParser(
        prog="seqexp-cache",
        description="Report or clear seqexp's caches (downloads and vectorized arrays). "
                    "Root: $SEQEXP_CACHE_DIR or ~/.cache/seqexp; derived arrays are kept "
                    "under $SEQEXP_CACHE_MAX_MB (default 4096), least recently used first out.")
    parser.add_argument("--clear", nargs="*", metavar="FOLDER",
                        help="delete these cache folders (no name: all of them)")
    args = parser.parse_args(argv)
    root = download.cache_dir()
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if args.clear is not None:
        chosen = [f for f in folders if not args.clear or f.name in args.clear]
        unknown = set(args.clear) - {f.name for f in folders}
        if unknown:
            print(f"seqexp-cache: error: no cache folder {', '.join(sorted(unknown))} in {root}"
                  f" (have: {', '.join(f.name for f in folders) or 'none'})", file=sys.stderr)
            sys.exit(2)
        for folder in chosen:
            size = download.folder_size(folder)
            shutil.rmtree(folder)
            print(f"removed {folder} ({size / 2**20:.1f} MB)")
        return
    print(f"cache root: {root}")
    total = 0
    for folder in folders:
        size = download.folder_size(folder)
        total += size
        print(f"  {folder.name:12s} {size / 2**20:10.1f} MB  "
              f"{sum(1 for p in folder.rglob('*') if p.is_file())} files")
    derived = sum(download.file_size(p) for p in download.cache_entries())
    print(f"  {'total':12s} {total / 2**20:10.1f} MB (derived arrays {derived / 2**20:.1f} MB of "
          f"at most {download.cache_limit_bytes() / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
