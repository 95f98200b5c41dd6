"""PyTorch peers of bench/gpu: GLAM scoring on the GPU the way Hugging Face users and Lamorel do it.

    python bench/gpu_peers.py --model DIR --batch BATCH.json --out OUT.json [--reps 5] [--dtype bf16] [--chunk 256]

BATCH.json (written by bench/gpu.ts): {"prompts": [[id, ...]], "candidates": [[[id, ...]]]}.
OUT.json: {"naive": {"seconds", "logprobs"}, "lamorel": {"seconds", "logprobs"}, "torch", "transformers", "device"}.

* naive: every prompt + candidate as its own sequence (B*K sequences, right-padded, in chunks of at
  most --chunk sequences per forward and at most --logit-gib GiB of logits), the full logits
  materialised (what transformers returns), log_softmax over the vocabulary at the candidate's
  positions, gather the candidate's tokens, sum.
* lamorel: bench/train_torch.py's steps 1-6 (forward only) on the GPU: contexts minus their last
  token left-padded and encoded once with use_cache; the past key/values repeated per candidate
  (DynamicCache.batch_repeat_interleave); [last context token] + candidate for all B*K pairs in one
  decoder call with output_hidden_states; log_softmax materialised over the vocabulary; the value
  head on every pair's first position.
Both in torch.no_grad(), eval mode, the model in --dtype (bf16 default: what glam's default
precision is compared with), eager attention (sdpa when available is used by default by
transformers; we keep its default). Times: two warm-ups, then the median of --reps, each ended by
torch.cuda.synchronize().
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

PAD = 0  # bench token ids are >= 1, so pads are exactly the masked positions
DEV = "cuda"  # --device cpu: a smoke run of the same code without a GPU


def naive_pass(model, prompts, candidates, chunk: int, logit_gib: float):
    seqs = [(p + c, len(p), len(c)) for p, cs in zip(prompts, candidates) for c in cs]
    longest = max(len(s) for s, _, _ in seqs)
    per_seq = longest * model.config.vocab_size * next(model.parameters()).element_size()
    chunk = max(1, min(chunk, int(logit_gib * 2**30 // per_seq)))
    out = []
    for s0 in range(0, len(seqs), chunk):
        part = seqs[s0:s0 + chunk]
        L = max(len(s) for s, _, _ in part)
        ids = torch.tensor([s + [PAD] * (L - len(s)) for s, _, _ in part], device=DEV)
        mask = torch.tensor([[1] * len(s) + [0] * (L - len(s)) for s, _, _ in part], device=DEV)
        logits = model(input_ids=ids, attention_mask=mask).logits  # (n, L, V) materialised
        for i, (s, P, A) in enumerate(part):
            logp = torch.log_softmax(logits[i, P - 1:P - 1 + A].float(), dim=-1)
            tgt = ids[i, P:P + A]
            out.append(logp.gather(1, tgt[:, None]).sum())
    return torch.stack(out)


def lamorel_pass(model, value_head, prompts, candidates):
    M = max(len(p) for p in prompts)
    ctx_ids = [[PAD] * (M - len(p)) + p[:-1] for p in prompts]
    ctx_mask = [[0] * (M - len(p)) + [1] * (len(p) - 1) for p in prompts]
    enc = model(input_ids=torch.tensor(ctx_ids, device=DEV), attention_mask=torch.tensor(ctx_mask, device=DEV),
                use_cache=True)
    counts = [len(c) for c in candidates]
    past = enc.past_key_values
    assert len(set(counts)) == 1, "the GPU shapes have K candidates per prompt"
    past.batch_repeat_interleave(counts[0])
    A = max(len(c) for cs in candidates for c in cs) + 1
    out_ids, out_mask, first = [], [], []
    for b, (p, cs) in enumerate(zip(prompts, candidates)):
        first.append(len(out_ids))
        for c in cs:
            seq = [p[-1]] + c
            out_ids.append(seq + [PAD] * (A - len(seq)))
            out_mask.append(ctx_mask[b] + [1] * len(seq) + [0] * (A - len(seq)))
    ids = torch.tensor(out_ids, device=DEV)
    dec = model(input_ids=ids, attention_mask=torch.tensor(out_mask, device=DEV), past_key_values=past,
                use_cache=True, output_hidden_states=True)
    logprobs = torch.log_softmax(dec.logits[:, :-1, :].float(), dim=-1)  # (N, A-1, V) materialised
    targets = ids[:, 1:]
    tok = torch.gather(logprobs, 2, targets[:, :, None]).squeeze(-1)
    cand = tok.masked_fill(targets == PAD, 0.0).sum(-1)
    values = value_head(dec.hidden_states[-1][:, 0, :].float()).squeeze(-1)
    return cand, values[torch.tensor(first, device=DEV)]


def sync() -> None:
    if DEV == "cuda":
        torch.cuda.synchronize()


def timed(f, reps: int):
    f()
    first = f()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--logit-gib", type=float, default=8.0)
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = ap.parse_args()
    global DEV
    DEV = args.device
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    torch.manual_seed(0)
    with open(args.batch) as f:
        batch = json.load(f)
    prompts, candidates = batch["prompts"], batch["candidates"]
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=dtype)
    model = model.to(DEV).eval()
    C = model.config.hidden_size
    value_head = torch.nn.Sequential(torch.nn.Linear(C, 1024), torch.nn.Sigmoid(), torch.nn.Linear(1024, 1024),
                                     torch.nn.Sigmoid(), torch.nn.Linear(1024, 1)).to(DEV)
    with torch.no_grad():
        t_naive, lp_naive = timed(lambda: naive_pass(model, prompts, candidates, args.chunk, args.logit_gib), args.reps)
        t_lam, (lp_lam, _) = timed(lambda: lamorel_pass(model, value_head, prompts, candidates), args.reps)
    with open(args.out, "w") as f:
        json.dump({"naive": {"seconds": t_naive, "logprobs": lp_naive.float().tolist()},
                   "lamorel": {"seconds": t_lam, "logprobs": lp_lam.float().tolist()},
                   "torch": torch.__version__, "transformers": transformers.__version__,
                   "device": torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu", "dtype": args.dtype}, f)


if __name__ == "__main__":
    main()
