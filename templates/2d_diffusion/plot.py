"""Figures for the runs named in `labels`: training loss curves and generated samples per dataset.

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

DATASETS = ("circle", "dino", "line", "moons")


def smooth(values: np.ndarray, window: int = 5) -> np.ndarray:
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=str, default=".")
    out_dir = Path(parser.parse_args().out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    runs = {run: label for run, label in labels.items() if (Path(run) / "final_info.json").exists()}
    if not runs:
        raise SystemExit(f"no run folder with final_info.json among {list(labels)}")

    # training loss: one panel per dataset, one line per run
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(4 * len(DATASETS), 3.5))
    for run, label in runs.items():
        losses = json.loads((Path(run) / "all_results.json").read_text())["train_losses"]
        for ax, name in zip(axes, DATASETS):
            steps, values = np.array(losses[name]).T
            ax.plot(steps[: len(smooth(values))], smooth(values), label=label)
    for ax, name in zip(axes, DATASETS):
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_yscale("log")
    axes[0].set_ylabel("training loss (noise MSE)")
    axes[-1].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "train_loss.png", dpi=120)
    plt.close(fig)

    # generated samples: one row per run, one column per dataset, the real points in grey behind
    fig, axes = plt.subplots(len(runs), len(DATASETS), figsize=(3 * len(DATASETS), 3 * len(runs)), squeeze=False)
    for row, (run, label) in enumerate(runs.items()):
        arrays = np.load(Path(run) / "samples.npz")
        for col, name in enumerate(DATASETS):
            ax = axes[row, col]
            real, fake = arrays[f"{name}_real"], arrays[f"{name}_samples"]
            ax.scatter(real[:, 0], real[:, 1], s=1, alpha=0.2, color="grey")
            ax.scatter(fake[:, 0], fake[:, 1], s=1, alpha=0.4)
            ax.set_xlim(-3, 3)
            ax.set_ylim(-3, 3)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name)
            if col == 0:
                ax.set_ylabel(label)
    fig.tight_layout()
    fig.savefig(out_dir / "generated_samples.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
