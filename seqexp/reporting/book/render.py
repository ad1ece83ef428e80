"""The book's table rendered: ``book.md`` (Markdown), ``book.csv`` and ``book.png`` (seqexp's
mean +- std beside the book's range and figure and the baseline, one panel per metric)."""

from __future__ import annotations

from pathlib import Path


def markdown(frame, title: str) -> str:
    lines = [f"# {title}", "",
             "| listing | preset | metric | what the book reports | seqexp mean +- std (n) "
             "| 95% interval | naive baseline | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for row in frame.itertuples():
        if row.runs:
            spread = f"{row.std:.4f}" if row.std == row.std else "n/a"
            ours = f"{row.mean:.4f} +- {spread} ({row.runs})"
            ci = f"[{row.ci_low:.4f}, {row.ci_high:.4f}]" if row.ci_low == row.ci_low else "n/a"
            naive = f"{row.naive:.4f}"
        else:
            ours, ci, naive = "-", "-", "-"
        if row.book_baseline == row.book_baseline and row.book_baseline is not None:
            naive += f" (book: {row.book_baseline:g})"
        verdict_text = row.verdict + (f" ({row.notes})" if row.notes else "")
        lines.append(f"| {row.listing} | {row.preset} | {row.metric} | {row.book} | {ours} "
                     f"| {ci} | {naive} | {verdict_text} |")
    return "\n".join(lines) + "\n"


def figure(frame):
    """Per preset run: seqexp's mean +- std, the book's range and figure, the baseline;
    one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = frame[frame["runs"] > 0]
    metrics = list(dict.fromkeys(ran["metric"])) or ["(nothing ran)"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 1.2 + 0.6 * max(
        1, max((ran["metric"] == m).sum() for m in metrics))), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = ran[ran["metric"] == metric].reset_index(drop=True)
        for y, row in part.iterrows():
            if row["book_low"] == row["book_low"] and row["book_low"] is not None:
                ax.plot([row["book_low"], row["book_high"]], [y, y], color="tab:green",
                        linewidth=8, alpha=0.3, solid_capstyle="butt",
                        label="book's range" if y == 0 else None)
            if row["book_reported"] is not None and row["book_reported"] == row["book_reported"]:
                ax.plot(row["book_reported"], y, "g|", markersize=14,
                        label="book" if y == 0 else None)
            spread = row["std"] if row["std"] == row["std"] else None  # n=1: no bar
            ax.errorbar(row["mean"], y, xerr=spread, fmt="o", color="tab:blue",
                        capsize=4, label="seqexp mean +- std" if y == 0 else None)
            ax.plot(row["naive"], y, "kx", label="naive baseline" if y == 0 else None)
        ax.set_yticks(range(len(part)), [f"{r.listing} {r.preset[5:]}" for r in
                                         part.itertuples()])
        ax.invert_yaxis()
        ax.set_xlabel(metric)
        if len(part):
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def write_outputs(frame, out: Path, title: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "book.md", out / "book.csv", out / "book.png"]
    paths[0].write_text(markdown(frame, title))
    frame.to_csv(paths[1], index=False)
    fig = figure(frame)
    fig.savefig(paths[2], dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths
