"""Denoising diffusion (DDPM) on four 2-D point clouds: circle, dino, line, moons.

A small MLP predicts the noise added at a random step t of a fixed forward process; sampling runs the learned
reverse chain from pure Gaussian noise. Per dataset the run reports the training time, the held-out noise
prediction loss, the sampling time and a k-nearest-neighbour estimate of KL(real || generated). The
configuration it used goes to config.json: the settings, the data sizes, the estimator's k, n and m and the
network's size.

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
from scipy.spatial import cKDTree

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASETS = ("circle", "dino", "line", "moons")


@dataclass
class Config:
    n_train: int = 100_000  # points drawn once per dataset
    n_eval: int = 10_000  # held-out points for eval_loss and the KL estimate
    train_steps: int = 10_000
    batch_size: int = 256
    lr: float = 3e-4
    hidden_size: int = 256
    hidden_layers: int = 3
    embedding_dim: int = 128  # sinusoidal features per input (x, y and t each)
    num_timesteps: int = 100
    beta_schedule: str = "linear"  # linear or quadratic growth of beta from beta_start to beta_end
    beta_start: float = 1e-4
    beta_end: float = 0.02
    ema_decay: float = 0.995  # sampling uses an exponential moving average of the weights
    knn_k: int = 5
    log_every: int = 100
    seed: int = 0


SMOKE = Config(n_train=20_000, n_eval=2_000, train_steps=700, hidden_size=128, hidden_layers=2, log_every=50)


def smoke_settings(settings: dict) -> dict:
    """A run's settings at smoke size: each size the smoke run shrinks shrinks by the same ratio
    (train_steps=10000 trains 700 steps), so a smoke run finishes in seconds whatever a run sets."""
    full = Config()
    return {
        name: max(1, round(value * getattr(SMOKE, name) / getattr(full, name)))
        if isinstance(value, int) and getattr(SMOKE, name) != getattr(full, name)
        else value
        for name, value in settings.items()
    }


# -----------------------------------------------------------------------------
# data: every dataset is centred and scaled to about unit standard deviation


def make_dataset(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if name == "circle":
        theta = rng.uniform(0, 2 * np.pi, n)
        points = np.stack([np.cos(theta), np.sin(theta)], axis=1) * 1.4
        points += rng.normal(scale=0.03, size=points.shape)
    elif name == "dino":
        # 142 hand-drawn points: resample with a jitter well below the spacing between neighbours
        dino = np.loadtxt(DATA_DIR / "dino.csv", delimiter=",", skiprows=1)
        dino = (dino - dino.mean(axis=0)) / dino.std(axis=0)
        points = dino[rng.integers(0, len(dino), n)] + rng.normal(scale=0.03, size=(n, 2))
    elif name == "line":
        x = rng.uniform(-1.7, 1.7, n)
        points = np.stack([x, 0.5 * x], axis=1) + rng.normal(scale=0.02, size=(n, 2))
    elif name == "moons":
        # two interleaved half circles, as in the classic "two moons" toy problem
        upper = rng.random(n) < 0.5
        theta = rng.uniform(0, np.pi, n)
        x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
        y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
        points = np.stack([x - 0.5, y - 0.25], axis=1) * 1.6 + rng.normal(scale=0.05, size=(n, 2))
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")
    return points.astype(np.float32)


# -----------------------------------------------------------------------------
# model


class SinusoidalEmbedding(nn.Module):
    """Fixed sin/cos features at geometric frequencies; `scale` stretches low-range inputs such as coordinates."""

    def __init__(self, dim: int, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(10_000.0) * torch.arange(half) / (half - 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = self.scale * x.float()[:, None] * self.freqs[None, :]  # (B, dim/2)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)  # (B, dim)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc(F.gelu(self.norm(x)))


class Denoiser(nn.Module):
    """eps_theta(x_t, t): an MLP over Fourier features of both coordinates and of the step."""

    def __init__(self, cfg: Config):
        super().__init__()
        # coordinates live in about [-2, 2]; scale 25 gives the MLP enough frequency to draw sharp shapes
        self.embed_x = SinusoidalEmbedding(cfg.embedding_dim, scale=25.0)
        self.embed_y = SinusoidalEmbedding(cfg.embedding_dim, scale=25.0)
        self.embed_t = SinusoidalEmbedding(cfg.embedding_dim)
        self.net = nn.Sequential(
            nn.Linear(3 * cfg.embedding_dim, cfg.hidden_size),
            *[ResidualBlock(cfg.hidden_size) for _ in range(cfg.hidden_layers)],
            nn.LayerNorm(cfg.hidden_size),
            nn.GELU(),
            nn.Linear(cfg.hidden_size, 2),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        features = torch.cat([self.embed_x(x[:, 0]), self.embed_y(x[:, 1]), self.embed_t(t)], dim=-1)
        return self.net(features)  # (B, 2)


class NoiseSchedule:
    """The DDPM forward process q(x_t | x_0) with a linear (Ho et al., 2020) or quadratic beta schedule."""

    def __init__(self, cfg: Config, device: str):
        self.num_timesteps = cfg.num_timesteps
        if cfg.beta_schedule == "linear":
            self.betas = torch.linspace(cfg.beta_start, cfg.beta_end, cfg.num_timesteps, device=device)
        elif cfg.beta_schedule == "quadratic":
            roots = torch.linspace(cfg.beta_start**0.5, cfg.beta_end**0.5, cfg.num_timesteps, device=device)
            self.betas = roots**2
        else:
            raise ValueError(f"unknown beta_schedule {cfg.beta_schedule!r}")
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.alphas_cumprod[t][:, None]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    @torch.no_grad()
    def sample(self, model: nn.Module, n: int, generator: torch.Generator, device: str) -> torch.Tensor:
        x = torch.randn(n, 2, generator=generator, device=device)
        for t in reversed(range(self.num_timesteps)):
            steps = torch.full((n,), t, device=device, dtype=torch.long)
            eps = model(x, steps)
            alpha, alpha_bar, beta = self.alphas[t], self.alphas_cumprod[t], self.betas[t]
            mean = (x - beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()
            if t > 0:
                # posterior variance beta_tilde: the lower bound of Ho et al., better for small T
                variance = beta * (1 - self.alphas_cumprod[t - 1]) / (1 - alpha_bar)
                mean = mean + variance.sqrt() * torch.randn(n, 2, generator=generator, device=device)
            x = mean
        return x


# -----------------------------------------------------------------------------
# evaluation


def knn_kl_divergence(p: np.ndarray, q: np.ndarray, k: int) -> float:
    """KL(P || Q) from samples, by the k-NN estimator of Wang, Kulkarni and Verdu (2009).

    For each x_i in p: rho = distance to its k-th neighbour among the other points of p, nu = distance to its
    k-th neighbour in q. Then D = d/n * sum(log(nu / rho)) + log(m / (n - 1)).
    """
    n, d = p.shape
    m = len(q)
    rho = cKDTree(p).query(p, k=k + 1)[0][:, k]  # k+1: the nearest neighbour of x_i in p is x_i itself
    nu = cKDTree(q).query(p, k=k)[0][:, k - 1]
    tiny = 1e-12  # duplicated points would otherwise give log(0)
    return float(d * np.mean(np.log((nu + tiny) / (rho + tiny))) + np.log(m / (n - 1)))


@torch.no_grad()
def eval_loss(model: nn.Module, schedule: NoiseSchedule, x0: torch.Tensor, seed: int) -> float:
    """Noise-prediction MSE on held-out points, with the timesteps and noise fixed by `seed`."""
    g = torch.Generator(device=x0.device).manual_seed(seed)
    t = torch.randint(0, schedule.num_timesteps, (len(x0),), generator=g, device=x0.device)
    noise = torch.randn(x0.shape, generator=g, device=x0.device)
    return F.mse_loss(model(schedule.add_noise(x0, noise, t), t), noise).item()


# -----------------------------------------------------------------------------
# training


def train_one(name: str, cfg: Config, device: str) -> tuple[dict, dict]:
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    train = torch.from_numpy(make_dataset(name, cfg.n_train, rng)).to(device)
    held_out = make_dataset(name, cfg.n_eval, rng)

    model = Denoiser(cfg).to(device)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema_decay)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.train_steps)
    schedule = NoiseSchedule(cfg, device)

    train_losses = []
    start = time.time()
    for step in range(cfg.train_steps):
        x0 = train[torch.randint(0, len(train), (cfg.batch_size,), device=device)]  # (B, 2)
        noise = torch.randn_like(x0)
        t = torch.randint(0, cfg.num_timesteps, (cfg.batch_size,), device=device)
        loss = F.mse_loss(model(schedule.add_noise(x0, noise, t), t), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
        if step % cfg.log_every == 0 or step == cfg.train_steps - 1:
            train_losses.append((step, loss.item()))
    if device == "cuda":
        torch.cuda.synchronize()
    training_time = time.time() - start

    ema.eval()
    loss_eval = eval_loss(ema, schedule, torch.from_numpy(held_out).to(device), seed=cfg.seed + 1)
    generator = torch.Generator(device=device).manual_seed(cfg.seed + 2)
    start = time.time()
    samples = schedule.sample(ema, cfg.n_eval, generator, device).cpu().numpy()
    inference_time = time.time() - start
    kl = knn_kl_divergence(held_out, samples, cfg.knn_k)
    setup = {  # what the run actually used, beyond the configuration
        "n_train": len(train),
        "kl_k": cfg.knn_k,
        "kl_n_real": len(held_out),
        "kl_m_generated": len(samples),
        "n_params": sum(p.numel() for p in model.parameters()),
    }

    means = {
        "training_time": training_time,
        "eval_loss": loss_eval,
        "inference_time": inference_time,
        "kl_divergence": kl,
    }
    return means, {"train_losses": train_losses, "samples": samples, "real": held_out, "setup": setup}


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
        settings = json.loads(Path(args.params).read_text())
        cfg = replace(cfg, **(smoke_settings(settings) if smoke else settings))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if smoke:
        torch.set_num_threads(1)  # tiny ops: thread hand-offs cost more than they save, worst on a shared CPU

    final_info, curves, arrays, setup = {}, {}, {}, {}
    for name in DATASETS:
        means, extras = train_one(name, cfg, device)
        print(f"{name}: " + ", ".join(f"{k}={v:.4f}" for k, v in means.items()), flush=True)
        final_info[name] = {"means": means}
        if smoke:
            final_info[name]["smoke"] = True  # never to be read as a full result
        curves[name] = extras["train_losses"]
        arrays[f"{name}_samples"] = extras["samples"]
        arrays[f"{name}_real"] = extras["real"]
        setup[name] = extras["setup"]

    (out_dir / "final_info.json").write_text(json.dumps(final_info, indent=2))
    config = {**asdict(cfg), "datasets": list(DATASETS), "device": device, "smoke": smoke, "setup": setup}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    all_results = {"config": asdict(cfg), "device": device, "smoke": smoke, "train_losses": curves}
    (out_dir / "all_results.json").write_text(json.dumps(all_results))
    np.savez_compressed(out_dir / "samples.npz", **arrays)


if __name__ == "__main__":
    main()
