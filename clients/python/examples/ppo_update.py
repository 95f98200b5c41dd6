"""A CleanRL-style PPO update in Python with numpy, using a glam server as the LLM (policy + value head).

The environment is a one-step bandit on GLAM prompts: the reward is 1 when the agent picks the action the
goal asks for ("go forward": the ball is straight ahead), else 0. Each iteration collects a batch with the
current policy (scores from POST /v1/score), computes advantages, then runs PPO epochs: a training forward
(/v1/train/forward), the clipped surrogate + value loss in numpy, their gradients with respect to the
candidates' log-probs and the values (/v1/train/backward), and an AdamW step (/v1/train/step). It prints
the probability of the rewarded action, which rises.

    glam serve --allow-training --api-key KEY --train-root /tmp/glam-runs &
    python ppo_update.py --url http://127.0.0.1:8000 --api-key KEY
"""
from __future__ import annotations

import argparse

import numpy as np

from glam_client import Client

ACTIONS = ["turn left", "turn right", "go forward", "pick up", "drop", "toggle"]
GOOD = ACTIONS.index("go forward")
PROMPTS = [
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle\n"
    f"Goal of the agent: go to the {color} ball\nObservation 0: You see a {color} ball {d} steps forward\nAction 0: "
    for color, d in [("red", 1), ("blue", 2), ("green", 3), ("purple", 1)]
]


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def main() -> list:
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--api-key", default=None)
    p.add_argument("--iterations", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--envs", type=int, default=4, help="rollouts per prompt")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--clip-coef", type=float, default=0.2)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--max-grad-norm", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    client = Client(args.url, api_key=args.api_key)
    contexts = [c for c in PROMPTS for _ in range(args.envs)]  # parallel one-step envs
    candidates = [ACTIONS] * len(contexts)
    history = []

    for it in range(args.iterations):
        # rollout: sample an action per prompt from the current policy
        r = client.score(contexts, candidates)
        logits = np.array([s.logprobs for s in r])  # (B, K) summed candidate log-probs
        logp_all = log_softmax(logits)  # the policy: softmax over each prompt's candidates
        prob_good = float(np.exp(logp_all[:, GOOD]).mean())
        history.append(prob_good)
        print(f"iteration {it}: p(go forward) = {prob_good:.4f}  (value head trained: {r.value_head_trained})")
        actions = np.array([rng.choice(len(ACTIONS), p=np.exp(row)) for row in logp_all])
        rewards = (actions == GOOD).astype(np.float64)
        values = np.array([s.value for s in r])
        old_logp = logp_all[np.arange(len(actions)), actions]
        returns = rewards  # one-step episodes
        adv = returns - values
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)

        for _ in range(args.epochs):
            f = client.forward(contexts, candidates)
            new_logits = np.array([s.logprobs for s in f.results])
            new_values = np.array([s.value for s in f.results])
            logp = log_softmax(new_logits)
            new_logp = logp[np.arange(len(actions)), actions]
            ratio = np.exp(new_logp - old_logp)
            B = len(actions)
            # pg_loss = mean(max(-adv * ratio, -adv * clip(ratio))): gradient w.r.t. new_logp
            unclipped, clipped = -adv * ratio, -adv * np.clip(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
            use_unclipped = unclipped >= clipped
            d_newlogp = np.where(use_unclipped, -adv * ratio, 0.0) / B  # the clipped branch is constant in theta
            # new_logp = logits[a] - logsumexp(logits): d/dlogits_k = [k == a] - softmax_k
            onehot = np.eye(len(ACTIONS))[actions]
            d_logits = d_newlogp[:, None] * (onehot - np.exp(logp))
            # v_loss = vf_coef * 0.5 * mean((V - R)^2)
            d_values = args.vf_coef * (new_values - returns) / B
            client.backward(f.handle, d_logits, d_values)
            client.step(lr=args.lr, max_grad_norm=args.max_grad_norm)
            client.zero_grad()
    r = client.score(contexts, candidates)
    final = float(np.exp(log_softmax(np.array([s.logprobs for s in r]))[:, GOOD]).mean())
    history.append(final)
    print(f"after {args.iterations} iterations: p(go forward) = {final:.4f} (from {history[0]:.4f})")
    return history


if __name__ == "__main__":
    main()
