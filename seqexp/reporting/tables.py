"""Rendering a leaderboard (per run, or per configuration when seeds replicate): a terminal
table, Markdown, CSV and a PNG bar chart of the metric against the naive baseline, with the 95%
intervals of grouped configurations as error bars."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from seqexp.reporting import compare
from seqexp.tasks import all_tasks

HEADERS = {"rank": "#", "duration_s": "time", "beats_baseline": "beats baseline",
           "p_vs_best": "p vs best"}



def cells(df: pd.DataFrame, params: bool = True) -> pd.DataFrame:
    """The table as shown: strings; a grouped mean as ``mean ± std`` then its 95% interval;
    run ids, a single task and (unless ``params``) the params left out."""
    show = {}
    for c in df:
        if (c in ("run_id", "run_ids") or "." in c and not params or c == "task"
                and df[c].nunique() <= 1 or c.endswith(("_std", "_ci_low", "_ci_high"))):
            continue
        if c.endswith("_mean"):
            b = c.removesuffix("_mean")
            show[b] = [_cell(b, m) + (f" ± {_cell(b, s).lstrip('+')}" if pd.notna(s) else "")
                       for m, s in zip(df[c], df[f"{b}_std"])]
            show[("skill " if "skill" in b else "") + "95% CI"] = [
                f"[{_cell(b, lo)}, {_cell(b, hi)}]" if pd.notna(lo) else "n/a"
                for lo, hi in zip(df[f"{b}_ci_low"], df[f"{b}_ci_high"])]
        else:
            show[HEADERS.get(c, c)] = [_cell(c, v, r) for v, r in zip(df[c], df["rank"])]
    return pd.DataFrame(show, index=df.index)


def _cell(column: str, value, rank=None) -> str:
    if column == "p_vs_best":
        if pd.notna(rank) and rank == 1:
            return "best"
        return "n/a" if pd.isna(value) else f"{value:.3f}"
    if column == "beats_baseline":
        return "n/a" if pd.isna(value) else "yes" if value else "no"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if column == "duration_s":
        minutes, secs = divmod(round(value), 60)
        hours, minutes = divmod(minutes, 60)
        return (f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes
                else f"{value:.1f}s")
    if column in ("rank", "epochs", "n"):
        return f"{round(float(value), 1):g}"
    if column.endswith("_skill"):
        return f"{value:+.3f}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _is_text(column: str) -> bool:
    return column in ("run", "status", "task") or "." in column  # params are dotted names


def notes(df: pd.DataFrame) -> list[str]:
    """Under a grouped table: the verdict in words and how the numbers were computed."""
    return [*compare.verdict(df), "mean ± std over the seeds; 95% CI: Student t; p vs best: "
            "Welch's t-test of the metric against #1; n/a: fewer than 2 runs"] if "n" in df else []


def format_table(df: pd.DataFrame, params: bool = False) -> str:
    """A plain-text table for the terminal (text left-aligned), then the notes."""
    show = cells(df, params)
    if show.empty:
        return "  ".join(show)
    width = {c: max([len(c), *show[c].str.len()]) for c in show if _is_text(c)}
    show = show.apply(lambda s: s.str.ljust(width[s.name]) if s.name in width else s)
    show = show.rename(columns=lambda c: c.ljust(width.get(c, 0)))
    text = (" " + show).rename(columns=lambda c: " " + c).to_string(index=False)
    return "\n".join([line.rstrip() for line in textwrap.dedent(text).splitlines()] + notes(df))


def format_markdown(df: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table, differing params included, then the notes."""
    show = cells(df, params=True)
    rows = [list(show), ["---" if _is_text(c) else "---:" for c in show], *show.values]
    table = ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in rows]
    return "\n".join(table + [f"\n{n}" if i == 0 else n for i, n in enumerate(notes(df))])


def figure(groups_: list[tuple[str, pd.DataFrame]]):
    """One horizontal bar chart per group and metric: the best validation metric per run or
    configuration (best on top; its 95% interval when grouped), the naive baseline marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(title, df, f"best_val_{t.metric}") for title, df in groups_
              for t in all_tasks().values()
              if {f"best_val_{t.metric}", f"best_val_{t.metric}_mean"} & set(df)]
    heights = [1.2 + 0.35 * len(df) + 0.2 * len(textwrap.wrap(title, 90))
               for title, df, _ in panels] or [1.5]
    fig, axes = plt.subplots(len(heights), 1, figsize=(8, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (title, df, col) in zip(axes[:, 0], panels):
        value = f"{col}_mean" if "n" in df else col
        rows = df[df[value].notna()]
        rows.index = [f"{r}. {n}"[:60] for r, n in zip(rows["rank"], rows["run"])]
        err = [[rows[value] - rows[f"{col}_ci_low"], rows[f"{col}_ci_high"] - rows[value]]
               ] if "n" in df else None
        rows.plot.barh(y=value, xerr=err, capsize=4, ax=ax,
                       color="tab:blue", label=f"{col.replace('_', ' ')}" + (" (95% CI)" * (
                           "n" in df)))
        if (naive := col.replace("best_", "naive_")) in rows:
            ax.plot(rows[naive], range(len(rows)), "|", color="tab:red", markersize=16,
                    markeredgewidth=2, label="naive baseline")
        ax.invert_yaxis()
        ax.set(xlabel=f"validation {col.removeprefix('best_val_')}", ylabel="")
        ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=9, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no runs", ha="center", va="center")
        axes[0, 0].set_axis_off()
    fig.tight_layout()
    return fig


def write_files(groups_: list[tuple[str, pd.DataFrame]], out: Path) -> list[Path]:
    """``leaderboard.md`` (a section per group), ``.csv`` (a ``group`` column) and ``.png``."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    md = "\n\n".join(f"## {title}\n\n{format_markdown(df)}" for title, df in groups_)
    (out / "leaderboard.md").write_text(f"# Leaderboard\n\n{md}\n")
    table = pd.concat([pd.DataFrame(columns=["group"])] + [df.assign(group=title) for title, df
                                                           in groups_], ignore_index=True)
    tail = [c for c in ("epochs", "duration_s", "status", "run_id", "run_ids") if c in table]
    if table.get("task", pd.Series()).nunique() < 2:
        table = table.drop(columns="task", errors="ignore")
    table[["group", *[c for c in table if c not in ["group", *tail]], *tail]].to_csv(
        out / "leaderboard.csv", index=False)
    fig = figure(groups_)
    fig.savefig(out / "leaderboard.png", dpi=100)
    plt.close(fig)
    return [out / f"leaderboard.{ext}" for ext in ("md", "csv", "png")]
