"""Figures for the runs named in `labels`: training and validation loss and accuracy per task.

Usage: python plot.py [--out_dir DIR]   (reads run folders in the current directory, writes PNGs to DIR)
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

# Runs to plot, in order, with the legend name for each. Add a line per new run.
labels = {
    "run_0": "Baseline",
}

TASKS = ("x_plus_y", "x_minus_y", "x_div_y", "permutation")


def seed_curves(curves: dict, task: str, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, mean and standard error over the seeds run for `task`."""
    runs = [c for name, c in curves.items() if name.rsplit("_", 1)[0] == task]
    length = min(len(c["step"]) for c in runs)
    values = np.array([c[key][:length] for c in runs])
    stderr = values.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros(length)
    return np.array(runs[0]["step"][:length]), values.mean(axis=0), stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=str, default=".")
    out_dir = Path(parser.parse_args().out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    runs = {run: label for run, label in labels.items() if (Path(run) / "final_info.json").exists()}
    if not runs:
        raise SystemExit(f"no run folder with final_info.json among {list(labels)}")
    curves = {run: json.loads((Path(run) / "all_results.json").read_text())["curves"] for run in runs}

    for key, ylabel in [
        ("train_loss", "training loss"),
        ("val_loss", "validation loss"),
        ("train_acc", "training accuracy"),
        ("val_acc", "validation accuracy"),
    ]:
        fig, axes = plt.subplots(1, len(TASKS), figsize=(4 * len(TASKS), 3.5), sharey=True)
        for ax, task in zip(axes, TASKS):
            for run, label in runs.items():
                steps, mean, stderr = seed_curves(curves[run], task, key)
                ax.plot(steps, mean, label=label)
                ax.fill_between(steps, mean - stderr, mean + stderr, alpha=0.2)
            ax.set_title(task)
            ax.set_xlabel("step")
            if key.endswith("loss"):
                ax.set_yscale("log")
        axes[0].set_ylabel(ylabel)
        axes[-1].legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{key}.png", dpi=120)
        plt.close(fig)


if __name__ == "__main__":
    main()
