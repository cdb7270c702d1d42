"""A character-level GPT trained on nine Shakespeare plays (data/shakespeare.txt, public domain).

A small decoder-only transformer learns next-character prediction. The run reports the final training loss, the
best validation loss over the periodic evaluations, the training time and the sampling speed in tokens per second.
The configuration it used goes to config.json, with the corpus split sizes and the parameter count.

Usage: python experiment.py --out_dir=run_0 [--params=params.json]
Set AISCI_SMOKE=1 for a CPU check that finishes in seconds; its results are marked `"smoke": true`.
"""

import argparse
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

DATA_PATH = Path(__file__).resolve().parent / "data" / "shakespeare.txt"
DATASET = "shakespeare_char"


@dataclass
class Config:
    block_size: int = 128  # context length in characters
    batch_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    dropout: float = 0.2  # a 1 MB corpus overfits quickly without it
    max_iters: int = 3_000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 100  # batches per split in one evaluation
    sample_tokens: int = 500
    val_fraction: float = 0.1
    seed: int = 1337


SMOKE = Config(
    block_size=64,
    batch_size=16,
    n_layer=2,
    n_head=4,
    n_embd=64,
    dropout=0.0,
    max_iters=300,
    lr=3e-3,
    warmup_iters=20,
    eval_interval=100,
    eval_iters=10,
    sample_tokens=100,
)


# -----------------------------------------------------------------------------
# data


class CharData:
    """The corpus as integer ids, split by position: the last `val_fraction` of the text is held out."""

    def __init__(self, text: str, val_fraction: float):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        n_train = int(len(ids) * (1 - val_fraction))
        self.splits = {"train": ids[:n_train], "val": ids[n_train:]}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def batch(self, split: str, cfg: Config, device: str) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.splits[split]
        starts = torch.randint(len(data) - cfg.block_size, (cfg.batch_size,))
        x = torch.stack([data[i : i + cfg.block_size] for i in starts])  # (B, T)
        y = torch.stack([data[i + 1 : i + 1 + cfg.block_size] for i in starts])  # (B, T), shifted by one
        return x.to(device), y.to(device)


# -----------------------------------------------------------------------------
# model


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int):
        super().__init__()
        self.block_size = cfg.block_size
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.Sequential(*[Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying: input and output share the character embedding
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer) so the residual stream keeps its variance
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        logits = self.lm_head(self.ln_f(self.blocks(x)))  # (B, T, vocab)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 0.8, top_k: int = 200) -> torch.Tensor:
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size :])
            logits = logits[:, -1, :] / temperature  # (B, vocab)
            kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
            logits[logits < kth] = -float("inf")
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)], dim=1)
        return idx


# -----------------------------------------------------------------------------
# training


def learning_rate(it: int, cfg: Config) -> float:
    """Linear warmup, then cosine decay to min_lr."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    progress = (it - cfg.warmup_iters) / max(1, cfg.max_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


@torch.no_grad()
def estimate_loss(model: GPT, data: CharData, cfg: Config, device: str) -> dict[str, float]:
    model.eval()
    losses = {}
    for split in ("train", "val"):
        values = [model(*data.batch(split, cfg, device))[1].item() for _ in range(cfg.eval_iters)]
        losses[split] = float(np.mean(values))
    model.train()
    return losses


def train(cfg: Config, device: str) -> tuple[dict, dict]:
    torch.manual_seed(cfg.seed)
    data = CharData(DATA_PATH.read_text(encoding="utf-8"), cfg.val_fraction)
    model = GPT(cfg, data.vocab_size).to(device)
    # weight decay on matrices only: decaying norms and biases only hurts
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.99),
    )
    use_amp = device == "cuda"  # bfloat16 autocast: about twice the speed on recent GPUs, same loss

    curves = {"iter": [], "train_loss": [], "val_loss": []}
    best_val_loss = float("inf")
    start = time.time()
    for it in range(cfg.max_iters + 1):
        if it % cfg.eval_interval == 0 or it == cfg.max_iters:
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_amp):
                losses = estimate_loss(model, data, cfg, device)
            best_val_loss = min(best_val_loss, losses["val"])
            for key, value in (("iter", it), ("train_loss", losses["train"]), ("val_loss", losses["val"])):
                curves[key].append(value)
            print(f"iter {it}: train {losses['train']:.4f}, val {losses['val']:.4f}", flush=True)
        if it == cfg.max_iters:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(it, cfg)
        x, y = data.batch("train", cfg, device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_amp):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
    if device == "cuda":
        torch.cuda.synchronize()
    train_time = time.time() - start

    model.eval()
    prompt = torch.tensor([[data.stoi["\n"]]], device=device)
    start = time.time()
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_amp):
        sample = model.generate(prompt, cfg.sample_tokens)
    if device == "cuda":
        torch.cuda.synchronize()
    tokens_per_s = cfg.sample_tokens / (time.time() - start)

    metrics = {
        "final_train_loss": curves["train_loss"][-1],
        "best_val_loss": best_val_loss,
        "train_time": train_time,
        "inference_tokens_per_s": tokens_per_s,
    }
    setup = {
        "vocab_size": data.vocab_size,
        "n_train_chars": len(data.splits["train"]),
        "n_val_chars": len(data.splits["val"]),
        "n_params": sum(p.numel() for p in model.parameters()),
    }
    return metrics, {"curves": curves, "sample": data.decode(sample[0].tolist()), "setup": setup}


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

    metrics, extras = train(cfg, device)
    print(", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    final_info = {DATASET: {"means": metrics}}
    if smoke:
        final_info[DATASET]["smoke"] = True  # never to be read as a full result

    (out_dir / "final_info.json").write_text(json.dumps(final_info, indent=2))
    config = {**asdict(cfg), "dataset": DATASET, "device": device, "smoke": smoke, **extras.pop("setup")}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    all_results = {"config": asdict(cfg), "device": device, "smoke": smoke, DATASET: extras}
    (out_dir / "all_results.json").write_text(json.dumps(all_results))


if __name__ == "__main__":
    main()
