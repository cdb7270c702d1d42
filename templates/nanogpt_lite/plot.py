"""Figures for the runs named in `labels`: training and validation loss curves.

Usage: python plot.py [--out_dir DIR]   (reads run folders in the current directory, writes PNGs to DIR)
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# Runs to plot, in order, with the legend name for each. Add a line per new run.
labels = {
    "run_0": "Baseline",
}

DATASET = "shakespeare_char"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=str, default=".")
    out_dir = Path(parser.parse_args().out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    runs = {run: label for run, label in labels.items() if (Path(run) / "final_info.json").exists()}
    if not runs:
        raise SystemExit(f"no run folder with final_info.json among {list(labels)}")

    for key, ylabel in [("train_loss", "training loss"), ("val_loss", "validation loss")]:
        fig, ax = plt.subplots(figsize=(6, 4))
        for run, label in runs.items():
            curves = json.loads((Path(run) / "all_results.json").read_text())[DATASET]["curves"]
            ax.plot(curves["iter"], curves[key], label=label)
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"{ylabel} (nats per character)")
        ax.set_title(f"{ylabel}, {DATASET}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{key}_{DATASET}.png", dpi=120)
        plt.close(fig)


if __name__ == "__main__":
    main()
