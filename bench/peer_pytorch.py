#!/usr/bin/env python3
"""Time one full-batch AdamW training step of glassy's transformer in PyTorch (CPU, float32).

The model is a decoder-only transformer without LayerNorm that reads the tokens (x, y, "=")
and predicts (x + y) mod p at the last position. Per layer, causal multi-head attention without
biases and a ReLU MLP each add to the residual stream. R independent replicas share one process
and advance in the same batched kernels, so the per-replica throughput can be set against
glassy's. The summary line on stdout follows the format of build/bench/bench_train_step.

Variants:
  full     computes every position through every layer, then reads logits[:, -1].
  trimmed  computes K and V at every position in the last layer, but Q, the attention output,
           the MLP and the unembedding only at the last position. The loss and gradients are
           the same as in `full` up to rounding, which --check verifies.
"""

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

CONTEXT = 3  # tokens per example: x, y, "="

# Explicit --p, --d-model, --heads, --d-mlp and --frac flags override these values.
PRESETS = {
    "paper": {"p": 67, "d_model": 128, "heads": 4, "d_mlp": 512, "frac": 0.5},
    "demo": {"p": 31, "d_model": 64, "heads": 4, "d_mlp": 256, "frac": 0.5},
}
PAPER_PARAMS = 215_040  # parameters per replica of the "paper" preset

LEARNING_RATE = 3e-3
BETAS = (0.9, 0.98)
EPS = 1e-8
WEIGHT_DECAY = 1.0

# Largest accepted max relative difference between the variants in --check.
CHECK_TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-10}


@dataclasses.dataclass(frozen=True)
class Config:
    model: str  # preset name, or "custom" when flags changed the preset's model or data
    p: int
    d_model: int
    heads: int
    d_mlp: int
    layers: int
    frac: float

    @property
    def vocab(self) -> int:
        return self.p + 1  # tokens 0..p-1 and "=" as token p

    @property
    def d_head(self) -> int:
        return self.d_model // self.heads

    def expected_params(self) -> int:
        """Return the parameter count of one replica, from the shapes in the module docstring."""
        d, f, v = self.d_model, self.d_mlp, self.vocab
        embed = v * d + CONTEXT * d
        attention = 4 * d * d  # W_Q, W_K, W_V (d, H * d_head) and W_O (H * d_head, d)
        mlp = d * f + f + f * d + d
        unembed = d * v
        return embed + self.layers * (attention + mlp) + unembed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper",
                        help="model and data preset (default: paper)")

    parser.add_argument("--p", type=int,
                        help="modulus, so the vocabulary has p + 1 tokens (paper: 67)")
    parser.add_argument("--d-model", type=int, help="residual width d (paper: 128)")
    parser.add_argument("--heads", type=int,
                        help="attention heads H, each of width d / H (paper: 4)")
    parser.add_argument("--d-mlp", type=int, help="MLP hidden width (default: 4 * d)")
    parser.add_argument("--layers", type=int, default=1, help="transformer layers (default: 1)")
    parser.add_argument("--frac", type=float,
                        help="fraction of the p * p pairs in the training set (paper: 0.5)")

    parser.add_argument("--replicas", type=int, default=1,
                        help="independent models trained in one process (default: 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="intra-op and inter-op threads (default: os.cpu_count())")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: 5)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default: 20)")
    parser.add_argument("--variant", choices=["full", "trimmed"], default="full",
                        help="full computes every position through every layer. trimmed "
                             "computes the last layer at the last position only, except K and "
                             "V (default: full)")
    parser.add_argument("--attention", choices=["matmul", "sdpa"], default="matmul",
                        help="attention kernel: matmul (explicit scores, mask and softmax) or "
                             "sdpa (F.scaled_dot_product_attention) (default: matmul)")

    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data shuffle and the initial weights (default: 0)")
    parser.add_argument("--check", action="store_true",
                        help="compare the loss and gradients of both variants on the same "
                             "weights and print the max relative difference, in place of "
                             "timing. Exits 1 if it exceeds the tolerance")
    return parser.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> Config:
    """Apply the explicit flags over the preset and validate the result."""
    preset = PRESETS[args.preset]
    p = args.p if args.p is not None else preset["p"]
    d_model = args.d_model if args.d_model is not None else preset["d_model"]
    heads = args.heads if args.heads is not None else preset["heads"]
    d_mlp = args.d_mlp if args.d_mlp is not None else 4 * d_model
    frac = args.frac if args.frac is not None else preset["frac"]
    resolved = {"p": p, "d_model": d_model, "heads": heads, "d_mlp": d_mlp, "frac": frac}
    model = args.preset if resolved == preset and args.layers == 1 else "custom"

    errors = []
    if p < 2:
        errors.append(f"--p must be at least 2, got {p}")
    if d_model < 1 or heads < 1 or d_model % heads != 0:
        errors.append(f"--d-model ({d_model}) must be a positive multiple of --heads ({heads})")
    if d_mlp < 1:
        errors.append(f"--d-mlp must be positive, got {d_mlp}")
    if args.layers < 1:
        errors.append(f"--layers must be at least 1, got {args.layers}")
    if not 0.0 < frac <= 1.0:
        errors.append(f"--frac must be in (0, 1], got {frac}")
    elif train_size(p, frac) < 1:
        errors.append(f"--frac {frac} leaves no training example for p = {p}")
    if args.replicas < 1:
        errors.append(f"--replicas must be at least 1, got {args.replicas}")
    if args.threads is None or args.threads < 1:
        errors.append(f"--threads must be at least 1, got {args.threads}")
    if args.warmup < 0:
        errors.append(f"--warmup must not be negative, got {args.warmup}")
    if args.steps < 1:
        errors.append(f"--steps must be at least 1, got {args.steps}")
    if errors:
        sys.exit("error: " + "\n       ".join(errors))
    return Config(model, p, d_model, heads, d_mlp, args.layers, frac)


def train_size(p: int, frac: float) -> int:
    """Return round(frac * p * p) with halves rounded up, as C++ std::round does for x >= 0.

    Python's round() rounds halves to even, which would give 2244 in place of 2245 for p = 67.
    """
    return math.floor(frac * p * p + 0.5)


def make_train_set(cfg: Config, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the shuffled training tokens (N, 3) and labels (N,) as int64 tensors.

    Every pair (x, y) with x, y in [0, p) is shuffled by torch.randperm under the seed, and the
    first round(frac * p * p) pairs form the training set.
    NOTE: this shuffle is not glassy's, so the two train on different pairs. Only N has to
    match for the step times to be comparable.
    """
    p = cfg.p
    pairs = torch.arange(p * p)
    x, y = pairs // p, pairs % p
    tokens = torch.stack([x, y, torch.full_like(x, p)], dim=1)
    labels = (x + y) % p
    order = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    train = order[: train_size(p, cfg.frac)]
    return tokens[train].contiguous(), labels[train].contiguous()


def init_params(cfg: Config, replicas: int, seed: int) -> dict[str, torch.Tensor]:
    """Return float32 leaf tensors with a leading replica dimension, in a fixed order.

    Every weight is drawn from N(0, 1/d) except W_U from N(0, 1/(p + 1)), and biases are 0.
    The replicas draw different values because they are consecutive slices of one draw.
    """
    d, f, v = cfg.d_model, cfg.d_mlp, cfg.vocab
    # seed + 1 gives the weights a random stream apart from the data shuffle's.
    generator = torch.Generator().manual_seed(seed + 1)

    def normal(*shape: int, std: float) -> torch.Tensor:
        return torch.randn(replicas, *shape, generator=generator) * std

    weight_std = 1.0 / math.sqrt(d)
    params = {
        "W_E": normal(v, d, std=weight_std),
        "W_pos": normal(CONTEXT, d, std=weight_std),
    }
    for layer in range(cfg.layers):
        prefix = f"blocks.{layer}."
        params[prefix + "W_Q"] = normal(d, d, std=weight_std)
        params[prefix + "W_K"] = normal(d, d, std=weight_std)
        params[prefix + "W_V"] = normal(d, d, std=weight_std)
        params[prefix + "W_O"] = normal(d, d, std=weight_std)
        params[prefix + "W_in"] = normal(d, f, std=weight_std)
        params[prefix + "b_in"] = torch.zeros(replicas, f)
        params[prefix + "W_out"] = normal(f, d, std=weight_std)
        params[prefix + "b_out"] = torch.zeros(replicas, d)
    params["W_U"] = normal(d, v, std=1.0 / math.sqrt(v))
    for tensor in params.values():
        tensor.requires_grad_(True)
    return params


def attention(x_q, x_kv, params, prefix, cfg, causal, kernel):
    """Return the attention output (R, N, Tq, d) of queries from x_q over keys from x_kv.

    x_q is (R, N, Tq, d) and x_kv is (R, N, T, d). With causal=True, Tq must equal T and the
    query at position i attends to keys 0..i. With causal=False every query attends to all T
    keys, which equals the causal result for a single query at the last position.
    """
    replicas, examples, t_q, d = x_q.shape
    t = x_kv.shape[2]
    heads, d_head = cfg.heads, cfg.d_head

    def project(x, weight, positions):
        # (R, N * positions, d) @ (R, d, H * d_head) -> (R, N, H, positions, d_head)
        out = torch.bmm(x.reshape(replicas, examples * positions, d), weight)
        return out.view(replicas, examples, positions, heads, d_head).transpose(2, 3)

    q = project(x_q, params[prefix + "W_Q"], t_q)
    k = project(x_kv, params[prefix + "W_K"], t)
    v = project(x_kv, params[prefix + "W_V"], t)

    if kernel == "sdpa":
        # SDPA takes (batch, heads, L, E); its is_causal aligns the mask top-left, which is
        # right only for t_q == t, so a single last-position query passes is_causal=False.
        z = F.scaled_dot_product_attention(
            q.reshape(replicas * examples, heads, t_q, d_head),
            k.reshape(replicas * examples, heads, t, d_head),
            v.reshape(replicas * examples, heads, t, d_head),
            is_causal=causal,
        ).view(replicas, examples, heads, t_q, d_head)
    else:
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d_head)  # (R, N, H, Tq, T)
        if causal:
            future = torch.ones(t_q, t, dtype=torch.bool).triu(diagonal=1)
            scores = scores.masked_fill(future, float("-inf"))
        z = torch.matmul(scores.softmax(dim=-1), v)  # (R, N, H, Tq, d_head)

    z = z.transpose(2, 3).reshape(replicas, examples * t_q, heads * d_head)
    return torch.bmm(z, params[prefix + "W_O"]).view(replicas, examples, t_q, d)


def mlp(x, params, prefix):
    """Return relu(x W_in + b_in) W_out + b_out for x of shape (R, N, T, d)."""
    replicas, examples, t, d = x.shape
    rows = x.reshape(replicas, examples * t, d)
    hidden = torch.relu(torch.baddbmm(params[prefix + "b_in"].unsqueeze(1), rows,
                                      params[prefix + "W_in"]))
    out = torch.baddbmm(params[prefix + "b_out"].unsqueeze(1), hidden, params[prefix + "W_out"])
    return out.view(replicas, examples, t, d)


def forward(params, tokens, cfg, variant, kernel):
    """Return the last-position logits (R, N, p + 1) of every replica."""
    replicas = params["W_E"].shape[0]
    examples = tokens.shape[0]
    # W_E[:, tokens] is (R, N, 3, d); W_pos broadcasts over the examples.
    x = params["W_E"][:, tokens] + params["W_pos"].unsqueeze(1)

    full_layers = cfg.layers if variant == "full" else cfg.layers - 1
    for layer in range(full_layers):
        prefix = f"blocks.{layer}."
        x = x + attention(x, x, params, prefix, cfg, causal=True, kernel=kernel)
        x = x + mlp(x, params, prefix)

    if variant == "full":
        logits = torch.bmm(x.reshape(replicas, examples * CONTEXT, cfg.d_model), params["W_U"])
        return logits.view(replicas, examples, CONTEXT, cfg.vocab)[:, :, -1]

    prefix = f"blocks.{cfg.layers - 1}."
    x_last = x[:, :, -1:]
    x_last = x_last + attention(x_last, x, params, prefix, cfg, causal=False, kernel=kernel)
    x_last = x_last + mlp(x_last, params, prefix)
    return torch.bmm(x_last.reshape(replicas, examples, cfg.d_model), params["W_U"])


def replica_losses(logits, labels):
    """Return the mean cross-entropy of each replica, shape (R,)."""
    replicas, examples, classes = logits.shape
    per_example = F.cross_entropy(logits.reshape(replicas * examples, classes),
                                  labels.repeat(replicas), reduction="none")
    return per_example.view(replicas, examples).mean(dim=1)


def loss_and_grads(params, tokens, labels, cfg, variant, kernel):
    """Run forward and backward, and return the per-replica losses and a copy of each gradient."""
    for tensor in params.values():
        tensor.grad = None
    losses = replica_losses(forward(params, tokens, cfg, variant, kernel), labels)
    # Summing the replicas' losses gives each replica the gradient of its own mean loss.
    losses.sum().backward()
    return losses.detach().clone(), {name: t.grad.clone() for name, t in params.items()}


def max_relative_difference(reference: torch.Tensor, other: torch.Tensor) -> float:
    """Return max |reference - other| divided by max |reference| (or by 1 if that is 0)."""
    scale = reference.abs().max().item() or 1.0
    return (reference - other).abs().max().item() / scale


def run_check(cfg, args, tokens, labels) -> int:
    """Compare the loss and gradients of both variants in float32 and float64.

    Returns 0 if every max relative difference is within CHECK_TOLERANCE, else 1.
    """
    failed = False
    weights32 = init_params(cfg, args.replicas, args.seed)
    for dtype in (torch.float32, torch.float64):
        params = {name: t.detach().to(dtype).requires_grad_(True)
                  for name, t in weights32.items()}
        loss_full, grads_full = loss_and_grads(params, tokens, labels, cfg, "full",
                                               args.attention)
        loss_trim, grads_trim = loss_and_grads(params, tokens, labels, cfg, "trimmed",
                                               args.attention)
        loss_diff = max_relative_difference(loss_full, loss_trim)
        grad_diffs = {name: max_relative_difference(grads_full[name], grads_trim[name])
                      for name in params}
        worst = max(grad_diffs, key=grad_diffs.get)
        max_diff = max(loss_diff, grad_diffs[worst])
        tolerance = CHECK_TOLERANCE[dtype]
        verdict = "ok" if max_diff <= tolerance else "FAILED"
        failed |= max_diff > tolerance
        dtype_name = str(dtype).removeprefix("torch.")
        for name, diff in grad_diffs.items():
            print(f"  {dtype_name} grad {name}: max relative difference {diff:.3e}",
                  file=sys.stderr)
        print(f"check dtype={dtype_name} variants=full,trimmed loss={loss_full.mean().item():.6f} "
              f"loss_max_rel_diff={loss_diff:.3e} grad_max_rel_diff={grad_diffs[worst]:.3e} "
              f"(in {worst}) max_rel_diff={max_diff:.3e} tolerance={tolerance:.0e} {verdict}")
    return 1 if failed else 0


def time_training(cfg, args, tokens, labels):
    """Run the warm-up and timed AdamW steps, and return the step times in ms and the losses."""
    params = init_params(cfg, args.replicas, args.seed)
    optimizer = torch.optim.AdamW(params.values(), lr=LEARNING_RATE, betas=BETAS, eps=EPS,
                                  weight_decay=WEIGHT_DECAY)
    step_ms = []
    losses = []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = replica_losses(forward(params, tokens, cfg, args.variant, args.attention),
                              labels).sum()
        loss.backward()
        optimizer.step()
        elapsed_ms = (time.perf_counter() - start) * 1e3
        if step >= args.warmup:
            step_ms.append(elapsed_ms)
        losses.append(loss.item() / args.replicas)
    return step_ms, losses


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = resolve_config(args)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)

    tokens, labels = make_train_set(cfg, args.seed)
    params_per_replica = sum(t[0].numel() for t in init_params(cfg, 1, args.seed).values())
    if params_per_replica != cfg.expected_params():
        sys.exit(f"error: the model has {params_per_replica} parameters per replica, but its "
                 f"shapes give {cfg.expected_params()}")
    if cfg.model == "paper" and params_per_replica != PAPER_PARAMS:
        sys.exit(f"error: the paper preset has {params_per_replica} parameters per replica, "
                 f"expected {PAPER_PARAMS}")

    print(f"settings: model={cfg.model} p={cfg.p} vocab={cfg.vocab} d_model={cfg.d_model} "
          f"heads={cfg.heads} d_head={cfg.d_head} d_mlp={cfg.d_mlp} layers={cfg.layers} "
          f"frac={cfg.frac} train_examples={tokens.shape[0]} replicas={args.replicas} "
          f"threads={torch.get_num_threads()} interop_threads={torch.get_num_interop_threads()} "
          f"warmup={args.warmup} steps={args.steps} variant={args.variant} "
          f"attention={args.attention} seed={args.seed} torch={torch.__version__}",
          file=sys.stderr)
    print(f"params per replica: {params_per_replica:,}", file=sys.stderr)

    if args.check:
        return run_check(cfg, args, tokens, labels)

    step_ms, losses = time_training(cfg, args, tokens, labels)
    median_ms = statistics.median(step_ms)
    print(f"step ms over {len(step_ms)} timed steps: min={min(step_ms):.3f} "
          f"median={median_ms:.3f} max={max(step_ms):.3f}", file=sys.stderr)
    print(f"mean loss per replica: first step {losses[0]:.6f}, last step {losses[-1]:.6f}",
          file=sys.stderr)
    print(f"summary bench=train_step peer=pytorch variant={args.variant} model={cfg.model} "
          f"replicas={args.replicas} threads={args.threads} params={params_per_replica} "
          f"ms_per_step={median_ms:.3f} "
          f"replica_steps_per_s={args.replicas * 1e3 / median_ms:.1f} torch={torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
