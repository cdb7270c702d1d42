"""Grokking: a small transformer learns binary operation tables from half of their entries.

Four tasks: x+y, x-y and x/y modulo 97, and composition of permutations of 5 elements. Each example is the
sequence `a op b =` and the model predicts the result from the last position. With strong weight decay,
validation accuracy often jumps to 100% long after the training set is memorised (Power et al., 2022).

Per task and seed the run records the final training and validation loss and accuracy on the full splits and
`step_val_acc_99`: the first evaluated step at which validation accuracy reaches 99%. When some seed of a task
never reaches it, the task's group leaves the metric out of "means" and lists it under "unreached". The
configuration it used goes to config.json, with the size of each task's splits.

Usage: python experiment.py --out_dir=run_0 [--params=params.json]
Set AISCI_SMOKE=1 for a CPU check that finishes in seconds; its results are marked `"smoke": true`.
"""

import argparse
import itertools
import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TASKS = ("x_plus_y", "x_minus_y", "x_div_y", "permutation")


@dataclass
class Config:
    prime: int = 97
    perm_size: int = 5
    train_fraction: float = 0.5
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    batch_size: int = 512
    train_steps: int = 7_500
    lr: float = 1e-3
    weight_decay: float = 0.5  # the regulariser that makes grokking happen at all
    warmup_steps: int = 50
    eval_every: int = 25
    seeds: tuple[int, ...] = (0, 1, 2)


SMOKE = Config(n_embd=64, batch_size=256, train_steps=250, lr=3e-3, eval_every=50, seeds=(0,))


# -----------------------------------------------------------------------------
# data


def operation_table(task: str, cfg: Config) -> tuple[np.ndarray, int]:
    """All (a, b, a op b) triples of a task as element indices, and the number of elements."""
    p = cfg.prime
    if task == "x_plus_y":
        triples = [(x, y, (x + y) % p) for x in range(p) for y in range(p)]
    elif task == "x_minus_y":
        triples = [(x, y, (x - y) % p) for x in range(p) for y in range(p)]
    elif task == "x_div_y":
        # x / y = x * y^(p-2) mod p (Fermat); y = 0 has no inverse
        triples = [(x, y, x * pow(y, p - 2, p) % p) for x in range(p) for y in range(1, p)]
    elif task == "permutation":
        perms = list(itertools.permutations(range(cfg.perm_size)))
        index = {perm: i for i, perm in enumerate(perms)}
        triples = [
            (i, j, index[tuple(a[b[k]] for k in range(cfg.perm_size))])
            for i, a in enumerate(perms)
            for j, b in enumerate(perms)
        ]
        return np.array(triples), len(perms)
    else:
        raise ValueError(f"unknown task {task!r}; choose from {TASKS}")
    return np.array(triples), p


def make_splits(task: str, cfg: Config, seed: int) -> tuple:
    """Token sequences `a op b =` and answers, shuffled by `seed` and split into train and validation."""
    triples, n_elements = operation_table(task, cfg)
    op_token, eq_token = n_elements, n_elements + 1
    order = np.random.default_rng(seed).permutation(len(triples))
    triples = triples[order]
    inputs = np.stack(
        [triples[:, 0], np.full(len(triples), op_token), triples[:, 1], np.full(len(triples), eq_token)], axis=1
    )
    n_train = int(cfg.train_fraction * len(triples))
    x, y = torch.from_numpy(inputs), torch.from_numpy(triples[:, 2])
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:], n_elements


# -----------------------------------------------------------------------------
# model: a pre-norm decoder-only transformer, read out at the last position


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(), nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int, n_outputs: int, seq_len: int = 4):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(seq_len, cfg.n_embd)
        self.blocks = nn.Sequential(*[Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, n_outputs)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos)  # (B, T, C)
        x = self.ln_f(self.blocks(x))
        return self.head(x[:, -1])  # (B, n_outputs): the answer is read after `=`


# -----------------------------------------------------------------------------
# training


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 4096) -> tuple[float, float]:
    """Mean loss and accuracy over a whole split."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size])
        loss_sum += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum").item()
        correct += (logits.argmax(-1) == y[i : i + batch_size]).sum().item()
    model.train()
    return loss_sum / len(x), correct / len(x)


def train_one(task: str, seed: int, cfg: Config, device: str) -> tuple[dict, dict]:
    torch.manual_seed(seed)
    *splits, n_elements = make_splits(task, cfg, seed)
    x_train, y_train, x_val, y_val = (t.to(device) for t in splits)
    model = Transformer(cfg, vocab_size=n_elements + 2, n_outputs=n_elements).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / cfg.warmup_steps))

    curves = {"step": [], "train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    step_val_acc_99 = None
    start = time.time()
    for step in range(1, cfg.train_steps + 1):
        batch = torch.randint(0, len(x_train), (cfg.batch_size,), device=device)
        loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % cfg.eval_every == 0 or step == cfg.train_steps:
            train_loss, train_acc = evaluate(model, x_train, y_train)
            val_loss, val_acc = evaluate(model, x_val, y_val)
            for key, value in zip(curves, (step, train_loss, train_acc, val_loss, val_acc)):
                curves[key].append(value)
            if val_acc >= 0.99 and step_val_acc_99 is None:
                step_val_acc_99 = step

    train_loss, train_acc = evaluate(model, x_train, y_train)
    val_loss, val_acc = evaluate(model, x_val, y_val)
    metrics = {
        "final_train_loss": train_loss,
        "final_val_loss": val_loss,
        "final_train_acc": train_acc,
        "final_val_acc": val_acc,
        "step_val_acc_99": step_val_acc_99,
        "train_time": time.time() - start,
    }
    return metrics, {**curves, "n_train": len(x_train), "n_val": len(x_val)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=str, default="run_0")
    parser.add_argument("--params", type=str, help="JSON file of the settings to change (see template.json)")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    smoke = os.environ.get("AISCI_SMOKE", "") not in ("", "0")
    cfg = SMOKE if smoke else Config()
    if args.params:
        cfg = replace(cfg, **json.loads(Path(args.params).read_text()))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if smoke:
        torch.set_num_threads(1)  # tiny ops: thread hand-offs cost more than they save, worst on a shared CPU

    final_info, all_curves, sizes = {}, {}, {}
    for task in TASKS:
        per_seed = []
        for seed in cfg.seeds:
            metrics, curves = train_one(task, seed, cfg, device)
            print(f"{task} seed {seed}: {metrics}", flush=True)
            per_seed.append(metrics)
            sizes[task] = {"n_train": curves.pop("n_train"), "n_val": curves.pop("n_val")}
            all_curves[f"{task}_{seed}"] = curves
        # a step that some seed never reached has no mean: it is listed as unreached instead
        unreached = [key for key in per_seed[0] if any(m[key] is None for m in per_seed)]
        values = {
            key: np.array([m[key] for m in per_seed], dtype=float) for key in per_seed[0] if key not in unreached
        }
        final_info[task] = {"means": {key: float(v.mean()) for key, v in values.items()}}
        if len(cfg.seeds) > 1:
            final_info[task]["stderrs"] = {
                key: float(v.std(ddof=1) / math.sqrt(len(v))) for key, v in values.items()
            }
        if unreached:
            final_info[task]["unreached"] = unreached
        if smoke:
            final_info[task]["smoke"] = True  # never to be read as a full result

    (out_dir / "final_info.json").write_text(json.dumps(final_info, indent=2))
    config = {**asdict(cfg), "n_seeds": len(cfg.seeds), "device": device, "smoke": smoke, "tasks": sizes}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    all_results = {"config": asdict(cfg), "device": device, "smoke": smoke, "curves": all_curves}
    (out_dir / "all_results.json").write_text(json.dumps(all_results))


if __name__ == "__main__":
    main()
