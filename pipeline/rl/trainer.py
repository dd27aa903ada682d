"""The ``local`` MT-GRPO trainer (CPU or one GPU): rollouts, hybrid rewards, Eqs. 2–5, AdamW.

For each batch of the schedule: sample G completions per prompt from π_θold (KV cache,
temperature / top-p / top-k from params), score them with the reward registry, drop
samples marked ``excluded``, compute group advantages (Eq. 3; groups with σ_q = 0 get
zero advantages and are counted; with β = 0 their rows skip the update's passes, which they
contribute nothing to), then ``ppo_epochs`` passes of mini-batch updates of
Eq. 4 with gradient clipping and a constant or cosine learning rate. Log-probs use the
sampling temperature (the distribution the rollout was drawn from, as in verl); with one
update per batch the old log-probs are the detached current ones (no extra pass). The reference
model is loaded only when some task has β_k > 0.

Every ``checkpoint_every`` steps the model, optimizer, LR scheduler, RNG states and the
schedule position are saved, replaced atomically (:mod:`.checkpoint`); the same command resumes
from there (its log cut back to that step) and, on CPU with fixed seeds, reaches the same final
weights as an uninterrupted run. A curriculum saves
an HF model at each task boundary (``segments/<i>-<task>``) for per-stage evaluation.

Every finished run leaves ``FINAL_STATE`` (the RNG states after its last step and the identity of
what it trained: θ0, batches, settings per segment, seed, rewards). A curriculum whose first segments
are that very run — a single-task run, or a shorter curriculum such as a pair ``i → j`` of
``train-pairs``: the same tasks' batches, drawn in the same order from the same seed, under the same
settings — starts from it (:meth:`GRPOTrainer.adopt_prefix`) instead of training them again: the
weights, RNG states and log are exactly those the segments would produce, as when resuming at a
segment boundary.

``segment_params`` gives a curriculum segment its own settings (each task's single-task GRPO
parameters); each segment then starts a fresh optimizer and LR schedule, as one verl run per
segment does at scale. Joint and single-task runs are one segment with ``params``.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..config import GRPOParams
from ..data.prompts import user_text
from ..errors import UserError
from ..io import write_text_atomic
from ..models.determinism import deterministic_training
from ..models.tiny import load_causal_lm
from ..models.warmstart import cosine_lr
from ..progress import progress
from ..rewards.total import RewardModel, Sample
from .checkpoint import discard_checkpoints, latest_checkpoint, save_checkpoint
from .grpo import group_mean_std, grpo_advantages, mt_grpo_loss, rows_with_gradient, sequence_mean
from .rollout import generate, token_logprobs
from .schedules import Batch, Segment, segment_spans


def _identity(settings: GRPOParams | Any) -> Any:
    """A run's settings without ``checkpoint_every``: how often it saves changes nothing it computes, so a job
    resubmitted with another interval resumes its checkpoint."""
    return settings.model_dump(mode="json", exclude={"checkpoint_every"}) if hasattr(settings, "model_dump") \
        else settings


def run_fingerprint(model, schedule: Sequence[Batch], params: GRPOParams | dict[str, GRPOParams], seed: int) -> str:
    """Identity of a run: the parameters (but the checkpoint interval), seed, schedule and θ0 (a digest of the
    first values of every weight tensor: cheap even at 7B, and any rebuilt or different base model changes it)."""
    digest = hashlib.sha256()
    settings = {k: _identity(v) for k, v in params.items()} if isinstance(params, dict) else _identity(params)
    digest.update(json.dumps([settings, seed,
                              [[b.segment, b.epoch, list(map(list, b.items))] for b in schedule]]).encode())
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().reshape(-1)[:4096].float().cpu().numpy().tobytes())
    return digest.hexdigest()


FINAL_STATE = "grpo_state.pt"  # beside the final model of a run: RNG states and the identity of its segments


def segment_key(model, batches: Sequence[Batch], params: GRPOParams | Sequence[GRPOParams], seed: int,
                rewards: dict[str, Any]) -> str:
    """Identity of a run's first segments trained from ``model`` (``params``: the settings of each, or of the one
    segment): equal keys → equal weights and RNG states at their end. Snapshot and checkpoint intervals do not
    change the arithmetic and are left out."""
    settings = [params] if isinstance(params, GRPOParams) else list(params)
    neutral = [p.model_copy(update={"keep_every": 0, "checkpoint_every": 0}) for p in settings]
    identity = {"segment": neutral[0]} if len(neutral) == 1 else \
        {"segments": [p.model_dump(mode="json") for p in neutral]}
    return run_fingerprint(model, batches, {**identity, "rewards": rewards}, seed)


@dataclass
class TrainState:
    step: int = 0


TIMINGS = "timings.jsonl"
TIMING_KEYS = ("tokens_per_s", "generate_s", "step_s")  # machine-dependent: kept out of log.jsonl (hashed by DVC)


def truncate_log(path: Path, steps: int) -> None:
    """Keep the lines of steps ``0 … steps − 1`` of a run's jsonl log (its ``step`` field): a resumed run redoes
    the later ones."""
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line and json.loads(line)["step"] < steps]
        if len(kept) != len(lines):
            write_text_atomic(path, "".join(line + "\n" for line in kept))


def _rng_state() -> dict[str, Any]:
    """Every generator's state as tensors, numbers and strings only, so that :func:`load_state` reads it with
    ``weights_only=True`` (numpy's key array is stored as a tensor)."""
    name, key, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"name": str(name), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)}}
    if torch.cuda.is_available():  # sampling on the GPU draws from its own generator
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_state(path: Path) -> dict[str, Any] | None:
    """A trainer state file, read with ``torch.load(weights_only=True)``: tensors, numbers, strings and
    containers only, never an arbitrary pickle (a checkpoint pulled from a shared DVC remote could carry one).
    None, with a message, for a file that holds anything else: a state of an older version of this code (numpy
    arrays) or a forged one; the caller then trains afresh instead of resuming from it."""
    import pickle

    try:
        return torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{path}: not a plain tensor state, not loaded ({first[:160]}); training afresh", file=sys.stderr)
        return None


def final_state(run: Path) -> dict[str, Any] | None:
    """The ``FINAL_STATE`` a finished run left beside its model (``run/model``), or None."""
    state_file = Path(run) / "model" / FINAL_STATE
    return load_state(state_file) if state_file.exists() else None


class GRPOTrainer:
    def __init__(self, model, tokenizer, records: dict[str, list[dict[str, Any]]], schedule: Sequence[Batch],
                 params: GRPOParams, rewards: RewardModel, out_dir: Path, seed: int, ref_model=None,
                 segment_params: dict[str, GRPOParams] | None = None, keep_segments: bool = False,
                 threads: int | None = None) -> None:
        deterministic_training(threads)
        self.model, self.tokenizer, self.records = model, tokenizer, records
        self.schedule, self.p, self.rewards, self.out = list(schedule), params, rewards, Path(out_dir)
        self.segment_params = dict(segment_params or {})
        self.keep_segments = keep_segments  # a curriculum: the model at each task boundary, for per-stage evaluation
        self.seed = seed
        self.ref_model = ref_model
        self.state = TrainState()
        self.spans = segment_spans(self.schedule)
        self.span_at = [span for span in self.spans for _ in range(span.start, span.stop)]  # batch index → segment
        self.log_path = self.out / "log.jsonl"
        self.timings_path = self.out / TIMINGS
        self.fingerprint = run_fingerprint(model, self.schedule, {"": params, **self.segment_params}, seed) \
            if self.segment_params else run_fingerprint(model, self.schedule, params, seed)
        self.prefix_keys = [segment_key(model, self.schedule[:span.stop],
                                        [self.params_of(s.name) for s in self.spans[:n]], seed,
                                        self._rewards_identity(self.schedule[:span.stop]))
                            for n, span in enumerate(self.spans, start=1)]
        """``prefix_keys[n - 1]``: the identity of this run's first ``n`` segments (:func:`segment_key`)."""
        self._new_optimizer(0)

    def _rewards_identity(self, batches: Sequence[Batch]) -> dict[str, Any]:
        """The reward settings ``batches`` are scored with: their tasks' entries and the shared ones only, so a
        change to another task's reward leaves this run's keys (and its reuse by a curriculum) as they were."""
        params = getattr(self.rewards, "params", None)
        return params.identity({task for b in batches for task, _ in b.items}) if params is not None else {}

    def params_of(self, segment: str) -> GRPOParams:
        return self.segment_params.get(segment, self.p)

    def _new_optimizer(self, index: int) -> None:
        """AdamW and the LR schedule for the segment that holds batch ``index`` (a fresh state)."""
        span: Segment | None = self.span_at[index] if self.schedule else None
        p = self.params_of(span.name if span else "")
        total = (span.stop - span.start if span else 0) * p.ppo_epochs
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        schedule_fn = (lambda s: cosine_lr(s, total, max(1, total // 20))) if p.lr_schedule == "cosine" \
            else (lambda s: 1.0)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule_fn)

    # ----------------------------------------------------------------- checkpointing
    def save_checkpoint(self) -> None:
        """The resumable state, replaced atomically (:mod:`pipeline.rl.checkpoint`)."""
        def write(folder: Path) -> None:
            self.model.save_pretrained(folder / "model")
            self.tokenizer.save_pretrained(folder / "model")
            torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                        "rng": _rng_state(), "step": self.state.step, "fingerprint": self.fingerprint},
                       folder / "state.pt")

        save_checkpoint(self.out, self.state.step, write)

    def maybe_resume(self) -> bool:
        """Resume from the newest complete checkpoint when it belongs to this very run (same θ0, schedule,
        parameters and seed); a checkpoint left by a different run (a parameter changed, θ0 rebuilt) is
        discarded. The log is cut back to the checkpoint's step: the steps after it are trained again."""
        ckpt = latest_checkpoint(self.out)
        if ckpt is None:
            return False
        state = load_state(ckpt / "state.pt")
        if state is None or state.get("fingerprint") != self.fingerprint:
            print(f"{ckpt}: checkpoint of a different run (θ0, schedule or parameters changed); "
                  "starting afresh", file=sys.stderr)
            discard_checkpoints(self.out)
            return False
        loaded = load_causal_lm(ckpt / "model")
        self.model.load_state_dict(loaded.state_dict())  # copies onto the model's device
        self._new_optimizer(max(0, state["step"] - 1))  # the segment of the last completed batch
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        self.state.step = state["step"]
        truncate_log(self.log_path, self.state.step)
        truncate_log(self.timings_path, self.state.step)
        print(f"GRPO: resuming at step {self.state.step} of {len(self.schedule)} from {ckpt}",
              file=sys.stderr, flush=True)
        return True

    def finished_in(self, run: Path) -> bool:
        """Does ``run`` (an output folder) hold this very run, finished: its final state has the key of all this
        run's segments (same θ0, batches, settings, seed and rewards, :func:`segment_key`) and this run's
        fingerprint (the snapshot and checkpoint intervals too, which decide the snapshots it kept)?"""
        saved = final_state(run)
        return (saved is not None and int(saved.get("segments", 1)) == len(self.spans)
                and saved.get("key") == self.prefix_keys[-1] and saved.get("fingerprint") == self.fingerprint)

    def adopt_prefix(self, runs: Sequence[Path]) -> bool:
        """Start a fresh curriculum from the finished run among ``runs`` that is exactly its longest prefix of
        segments (same key, see :func:`segment_key`; a single-task run is a one-segment prefix, a pair ``i → j``
        a two-segment one): its final weights, RNG states, log and segment models become this run's state at
        that segment boundary, saved as the resumable checkpoint. Returns whether it did; a run in progress (a
        checkpoint exists) is left to resume, and a run that is all of this one is not adopted."""
        if self.state.step or latest_checkpoint(self.out) is not None or len(self.spans) < 2:
            return False
        found: list[tuple[int, Path, dict[str, Any]]] = []
        for run in runs:
            saved = final_state(run)
            if saved is None:
                continue
            n = int(saved.get("segments", 1))
            if n < len(self.spans) and saved.get("key") == self.prefix_keys[n - 1]:
                found.append((n, Path(run), saved))
            else:
                print(f"{run}: a different run than this curriculum's first segment(s) (θ0, batches, settings, "
                      "seed or rewards differ); training the segment(s)", file=sys.stderr)
        if not found:
            return False
        n, run, saved = max(found, key=lambda f: f[0])
        steps = self.spans[n - 1].stop
        loaded = load_causal_lm(run / "model")
        self.model.load_state_dict(loaded.state_dict())
        self.out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.out / "segments", ignore_errors=True)
        shutil.rmtree(self.out / "checkpoints", ignore_errors=True)
        lines = (run / "log.jsonl").read_text().splitlines()[:steps]
        write_text_atomic(self.log_path, "".join(line + "\n" for line in lines))
        self.timings_path.unlink(missing_ok=True)  # the adopted steps' timings stay with the run they came from
        for span in self.spans[:n]:
            seg_dir = self.out / "segments" / f"{span.number}-{span.name}"
            if n == 1:  # a single-task run keeps no segment models: its final model is the boundary's
                self.model.save_pretrained(seg_dir)
                self.tokenizer.save_pretrained(seg_dir)
            else:
                shutil.copytree(run / "segments" / seg_dir.name, seg_dir)
        _set_rng_state(saved["rng"])
        self.state.step = steps
        self.save_checkpoint()
        names = " → ".join(span.name for span in self.spans[:n])
        print(f"first {'segment' if n == 1 else f'{n} segments'} ({names}, {steps} steps) taken from the "
              f"{'single-task run' if n == 1 else 'run'} {run}", file=sys.stderr)
        return True

    # ----------------------------------------------------------------- one step
    def _beta(self, tasks: list[str], p: GRPOParams) -> torch.Tensor:
        return torch.tensor([p.beta.get(t, 0.0) for t in tasks])

    def step(self, batch: Batch) -> dict[str, Any]:
        """One GRPO step on ``batch``: roll out, score, update the policy (Eqs. 2–5), report."""
        p = self.params_of(batch.segment)
        t0 = time.perf_counter()
        recs = [self.records[t][i] for t, i in batch.items]
        self.model.eval()
        rollout = generate(self.model, self.tokenizer, [r["prompt"] for r in recs], p.group_size, p.max_new_tokens,
                           p.temperature, p.top_p, p.top_k)
        gen_s = time.perf_counter() - t0
        expanded = [r for r in recs for _ in range(p.group_size)]
        scored = self.rewards.score([Sample(r["task"], user_text(r["prompt"]), text, r["reference"], r["meta"])
                                     for r, text in zip(expanded, rollout.texts)])
        self._check_undefined(scored, expanded)
        group = torch.arange(len(recs)).repeat_interleave(p.group_size)
        update = self._update(rollout, scored, group, [r["task"] for r in expanded], p)
        seconds = time.perf_counter() - t0
        metrics: dict[str, Any] = {
            "step": self.state.step, "segment": batch.segment, "epoch": batch.epoch,
            "lr": self.scheduler.get_last_lr()[0],
            "clip_fraction": float(np.mean(update.clip)) if update.clip else 0.0,
            "kl": float(np.mean(update.kls)) if update.kls else 0.0,
            "excluded": int((~update.keep).sum()), "zero_std_groups": _zero_std_groups(scored, update.keep, group),
            "tokens_per_s": int(rollout.response_mask.sum()) / seconds, "generate_s": gen_s, "step_s": seconds,
            "tasks": _task_metrics(expanded, scored, rollout, update),
        }
        return metrics

    def _update(self, rollout, scored: list, group: torch.Tensor, tasks: list[str], p: GRPOParams) -> "_Update":
        """Group advantages (Eq. 3) over the samples not excluded, then ``ppo_epochs`` passes of mini-batch
        AdamW steps on Eq. 4 (per-task β_k of Eq. 5), with gradient clipping and the LR schedule."""
        keep = torch.tensor([not s.excluded for s in scored])
        scores = torch.tensor([s.score for s in scored], dtype=torch.float32)
        device = rollout.input_ids.device
        advantages = (grpo_advantages(scores[keep], group[keep]) if keep.any() else scores[:0]).to(device)
        rows = torch.nonzero(keep).squeeze(-1)
        beta = self._beta([tasks[i] for i in rows.tolist()], p).to(device)
        rows = rows.to(device)
        # On-policy (one update over the whole batch): π_θold = π_θ, so the old log-probs are the
        # detached current ones and the extra forward pass is skipped (as verl's actor does).
        on_policy = p.ppo_epochs == 1 and p.mini_batch_size >= len(rows)
        with torch.no_grad():
            old_logp = None if on_policy else token_logprobs(self.model, rollout, rows, p.temperature)[0]
            ref_logp = token_logprobs(self.ref_model, rollout, rows, p.temperature)[0] \
                if self.ref_model is not None and bool((beta > 0).any()) else None
        mask = rollout.response_mask[rows]
        self.model.train()
        clip, kls = [], []
        for _ in range(p.ppo_epochs):
            order = torch.randperm(len(rows))
            for start in range(0, len(rows), p.mini_batch_size):
                mb = order[start:start + p.mini_batch_size]
                # Rows without a gradient (Â = 0, β = 0) are left out of the passes; the mean over the
                # mini-batch and the clip fraction over its tokens are kept (see rows_with_gradient).
                live = mb[rows_with_gradient(advantages[mb], beta[mb]).cpu()]
                if len(live):
                    logp, _ = token_logprobs(self.model, rollout, rows[live], p.temperature)
                    out = mt_grpo_loss(logp, logp.detach() if on_policy else old_logp[live], advantages[live],
                                       mask[live], p.eps_low, p.eps_high, beta=beta[live],
                                       ref_logp=None if ref_logp is None else ref_logp[live])
                    if not torch.isfinite(out.loss.detach()):
                        self._diverged(f"the loss is {out.loss.item()}")
                    (out.loss * (len(live) / len(mb))).backward()
                    tokens = mask[live].sum() / mask[mb].sum().clamp(min=1)
                    clip.append(out.clip_fraction.item() * float(tokens))
                    kls.append(out.kl.item())
                else:  # no row has a gradient: the update is AdamW's step on a zero gradient
                    for param in self.model.parameters():
                        param.grad = torch.zeros_like(param)
                    clip.append(0.0)
                    kls.append(0.0)
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), p.grad_clip)
                if not torch.isfinite(norm):
                    self._diverged(f"the gradient norm is {norm.item()}")
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                bad = next((name for name, w in self.model.named_parameters() if not torch.isfinite(w).all()), None)
                if bad is not None:
                    self._diverged(f"weight {bad} is not finite after the update")
            self.scheduler.step()
        self.model.eval()
        return _Update(keep, rows, clip, kls)

    def _check_undefined(self, scored: list, records: list[dict]) -> None:
        """Stop when more than ``rewards.max_undefined_share`` of this step's rewards have no verdict: a run whose
        judge cannot be reached must not finish on the samples that happen to be scored (or on none)."""
        undefined = [r["task"] for s, r in zip(scored, records) if s.excluded]
        limit = getattr(getattr(self.rewards, "params", None), "max_undefined_share", 1.0)
        if undefined and len(undefined) / len(scored) > limit:
            stats = self.rewards.stats() if hasattr(self.rewards, "stats") else {}
            judge = stats.get("judge", {}) if isinstance(stats, dict) else {}
            cause = ", ".join(f"{k} {v}" for k, v in judge.items() if k in ("timeouts", "malformed", "undefined")
                              and v) or "no verdict"
            raise UserError(f"step {self.state.step + 1}: {len(undefined)} of {len(scored)} rewards undefined "
                            f"(tasks {sorted(set(undefined))}; judge so far: {cause}), more than "
                            f"rewards.max_undefined_share = {limit}; stopped")

    def _diverged(self, what: str) -> None:
        """Stop the run: training that diverged produces nothing (no model, no checkpoint of this step)."""
        raise UserError(f"training diverged at step {self.state.step + 1}: {what} (lower the learning rate, check "
                        "the rewards; nothing of this step was saved)")

    def _failures(self) -> dict[str, int]:
        """Answers the verifiers scored 0 without a verdict during this step (deadline, memory, length), by kind:
        machine-dependent, so logged with the timings."""
        total = self.rewards.failures() if hasattr(self.rewards, "failures") else {}
        step = {k: v - self._failed.get(k, 0) for k, v in total.items() if v - self._failed.get(k, 0)}
        self._failed = total
        return step

    # ----------------------------------------------------------------- the loop
    def train(self) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        resumed = self.maybe_resume()
        if not resumed:
            random.seed(self.seed)
            np.random.seed(self.seed)
            torch.manual_seed(self.seed)
            self.log_path.unlink(missing_ok=True)  # a fresh run keeps nothing of an earlier one
            self.timings_path.unlink(missing_ok=True)
            shutil.rmtree(self.out / "segments", ignore_errors=True)
            shutil.rmtree(self.out / "checkpoints", ignore_errors=True)
        start = self.state.step
        self._failed = self.rewards.failures() if hasattr(self.rewards, "failures") else {}
        bar = progress(total=len(self.schedule), initial=start, desc=f"GRPO {self.out.name}", unit="step")
        last: dict[str, Any] = {}
        for index in range(start, len(self.schedule)):
            batch = self.schedule[index]
            span = self.span_at[index]
            if index > 0 and index == span.start:
                self._new_optimizer(index)  # a new curriculum segment: a fresh optimizer, as a new verl run
            metrics = self.step(batch)
            timing = {"step": metrics["step"], **{k: metrics.pop(k) for k in TIMING_KEYS}, **self._failures()}
            self.state.step = index + 1
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(metrics) + "\n")
            with self.timings_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(timing) + "\n")
            last = metrics
            rewards = {t: round(m["reward_accuracy"], 3) for t, m in metrics["tasks"].items() if "reward_accuracy" in m}
            bar.set_postfix(acc=rewards, tok_s=f"{timing['tokens_per_s']:.0f}")
            bar.update(1)
            if index + 1 == span.stop and self.keep_segments:
                seg_dir = self.out / "segments" / f"{span.number}-{batch.segment}"
                self.model.save_pretrained(seg_dir)
                self.tokenizer.save_pretrained(seg_dir)
            if self.p.keep_every and self.state.step % self.p.keep_every == 0 and self.state.step < len(self.schedule):
                snapshot = self.out / "checkpoints" / f"step-{self.state.step}"  # for checkpoint selection
                self.model.save_pretrained(snapshot)
                self.tokenizer.save_pretrained(snapshot)
            if self.p.checkpoint_every and (self.state.step % self.p.checkpoint_every == 0
                                            or self.state.step == len(self.schedule)):
                self.save_checkpoint()  # and the final state: a job retried after it finished resumes at its end
        bar.close()
        if not last and self.state.step and self.log_path.exists():  # resumed at the end: its last step's metrics
            last = json.loads(self.log_path.read_text(encoding="utf-8").splitlines()[-1])
        if self.spans:  # a curriculum that starts with this very run can start from it
            torch.save({"key": self.prefix_keys[-1], "fingerprint": self.fingerprint, "segments": len(self.spans),
                        "rng": _rng_state(), "step": self.state.step}, self.out / FINAL_STATE)
        return last


@dataclass
class _Update:
    """What one policy update used and measured: the samples kept (not excluded), their rows in the rollout,
    and per mini-batch the clip fraction and KL."""

    keep: torch.Tensor
    rows: torch.Tensor
    clip: list[float]
    kls: list[float]


def _zero_std_groups(scored: list, keep: torch.Tensor, group: torch.Tensor) -> int:
    """Groups whose kept rewards are all equal (σ_q = 0, Eq. 2): they carry no policy gradient."""
    if not keep.any():
        return 0
    scores = torch.tensor([s.score for s in scored], dtype=torch.float32)
    _, std = group_mean_std(scores[keep], group[keep])
    return len(set(group[keep][std == 0].tolist()))


def _task_metrics(expanded: list[dict[str, Any]], scored: list, rollout, update: _Update) -> dict[str, Any]:
    """Per task: mean total reward, each defined reward component, the mean token entropy of π_θold (Eq. 11,
    over the kept samples) and the mean response length."""
    rows = update.rows
    ent_seq = sequence_mean(rollout.entropy[rows], rollout.response_mask[rows]) if len(rows) else torch.zeros(0)
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(expanded):
        by_task[r["task"]].append(i)
    kept_index = {int(r): j for j, r in enumerate(rows.tolist())}
    out: dict[str, Any] = {}
    for task, idx in by_task.items():
        comp = defaultdict(list)
        for i in idx:
            for name, value in scored[i].components.items():
                if value is not None:
                    comp[name].append(value)
        ents = [float(ent_seq[kept_index[i]]) for i in idx if i in kept_index]
        out[task] = {
            "reward": float(np.mean([scored[i].score for i in idx])),
            **{f"reward_{k}": float(np.mean(v)) for k, v in comp.items()},
            "entropy": float(np.mean(ents)) if ents else None,
            "response_length": float(rollout.response_mask[idx].sum(-1).float().mean()),
        }
    return out
