"""Generation engines of evaluation and RFT sampling (``eval.backend``): transformers or vLLM.

Both return, per prompt, ``n`` completions (rows grouped by prompt) and, when asked, each
completion's mean token entropy of the policy at temperature 1 (Eq. 11's inner term):

- ``transformers``: our KV-cached sampler (:func:`pipeline.rl.rollout.generate`), which
  computes the entropies while sampling;
- ``vllm``: vLLM's offline ``LLM.chat`` with ``SamplingParams`` (GPU). vLLM returns at most
  top-k log-probabilities, not the full distribution Eq. 11 needs, so the entropies are
  computed exactly by one teacher-forced pass of a transformers copy of the model over the
  sampled tokens (:func:`teacher_forced_entropy`; ``eval.vllm.gpu_memory_utilization``
  leaves it room).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ..config import EvalParams
from ..errors import UserError
from ..registry import Registry
from ..rl.grpo import sequence_mean
from ..rl.rollout import encode_prompts, generate, positions

Messages = list[dict[str, str]]


@dataclass
class Generation:
    texts: list[str]              # len(prompts) × n, rows of prompt i at i·n … i·n + n − 1
    entropy: np.ndarray | None    # (len(texts),) mean token entropy at T = 1, or None when not asked


class Generator(Protocol):
    def sample(self, prompts: list[Messages], n: int, max_new_tokens: int, temperature: float, top_p: float,
               top_k: int, greedy: bool = False, with_entropy: bool = False,
               seed: int | None = None) -> Generation:
        """``n`` completions per prompt. ``seed``: None draws from the engine's global RNG; an int makes the
        sampling noise a function of the seed and of each sample's place (prompt, sample, step) only, the
        same for any model — common random numbers, which make two models' samples on the same prompts
        agree wherever their distributions do (see :func:`pipeline.eval.evaluate.evaluate_records`)."""
        ...

    def close(self) -> None: ...


GENERATORS: Registry[Any] = Registry("generation backend")


@GENERATORS.register("transformers")
class TransformersGenerator:
    """Our sampler on a loaded HF model (CPU or one GPU); draws from torch's global RNG."""

    def __init__(self, model, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    @classmethod
    def load(cls, path: str | Path, params: EvalParams, seed: int) -> "TransformersGenerator":
        from ..models.tiny import load_model

        model, tokenizer = load_model(path)
        model.eval()
        return cls(model, tokenizer)

    def sample(self, prompts: list[Messages], n: int, max_new_tokens: int, temperature: float, top_p: float,
               top_k: int, greedy: bool = False, with_entropy: bool = False,
               seed: int | None = None) -> Generation:
        noise = None
        if seed is not None:  # one generator for the call: step t's uniforms of row r (see rollout.generate)
            noise = torch.Generator(device=next(self.model.parameters()).device).manual_seed(seed)
        r = generate(self.model, self.tokenizer, prompts, n, max_new_tokens, temperature, top_p, top_k, greedy=greedy,
                     noise=noise)
        return Generation(r.texts, sequence_mean(r.entropy, r.response_mask).cpu().numpy() if with_entropy else None)

    def close(self) -> None:
        pass


def vllm_sampling_kwargs(n: int, max_new_tokens: int, temperature: float, top_p: float, top_k: int,
                         greedy: bool, seed: int | None = None) -> dict[str, Any]:
    """``vllm.SamplingParams`` arguments of our settings. Greedy asks for one completion (the n greedy completions
    are identical; the caller repeats it); our top-k 0 (off) is vLLM's −1. ``seed``: the request's own
    generator (vLLM's per-request seed), for common random numbers."""
    if greedy:
        return {"n": 1, "max_tokens": max_new_tokens, "temperature": 0.0, "top_p": 1.0, "top_k": -1}
    kwargs = {"n": n, "max_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
              "top_k": top_k if top_k > 0 else -1}
    return kwargs if seed is None else {**kwargs, "seed": seed}


def vllm_request_seed(seed: int | None, prompt: int, n: int) -> int | None:
    """The seed of prompt ``prompt``'s request: ``seed + prompt·n``. vLLM seeds sample ``k`` of a request with the
    request's seed ``+ k``, so ``seed + prompt`` would give prompt i's sample 1 the noise of prompt i+1's sample 0;
    with ``seed + prompt·n`` every (prompt, sample) of a call gets its own seed."""
    return None if seed is None else seed + prompt * n


@torch.no_grad()
def teacher_forced_entropy(model, tokenizer, prompts: list[Messages], responses: list[list[int]],
                           prompt_index: list[int], rows_per_chunk: int = 8,
                           tokens_per_chunk: int = 1024) -> np.ndarray:
    """Eq. 11's per-response term, −(1/|o|) Σ_t Σ_v π(v|q,o_<t) log π(v|q,o_<t), of given response tokens
    (``responses[j]`` answers ``prompts[prompt_index[j]]``; all its tokens count), in bounded memory.

    The decoder runs ``rows_per_chunk`` sequences at a time (hidden states: rows × length × hidden), and the
    output projection then turns at most ``tokens_per_chunk`` response positions at a time into vocabulary
    logits, so the largest logits tensor is ``tokens_per_chunk × vocabulary`` whatever the batch and the
    response length (a whole 64 × 3,072-token batch of a 152k-vocabulary model would be ~120 GB at once).
    The logits are the output embedding of the last hidden state (``get_output_embeddings``), as in every
    causal LM whose head is that projection (Qwen2, Llama), at temperature 1."""
    enc = encode_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    result = np.zeros(len(responses), dtype=np.float64)
    for start in range(0, len(responses), rows_per_chunk):
        chunk = list(range(start, min(start + rows_per_chunk, len(responses))))
        width = max(1, max(len(responses[j]) for j in chunk))
        response = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, j in enumerate(chunk):
            response[row, :len(responses[j])] = torch.tensor(responses[j], dtype=torch.long)
            mask[row, :len(responses[j])] = 1
        index = torch.tensor([prompt_index[j] for j in chunk])
        ids = torch.cat([enc["input_ids"][index], response], 1).to(device)
        attn = torch.cat([enc["attention_mask"][index], mask], 1).to(device)
        hidden = decoder(input_ids=ids, attention_mask=attn, position_ids=positions(attn)).last_hidden_state
        P = enc["input_ids"].shape[1]
        states = hidden[:, P - 1:P - 1 + width][mask.to(device).bool()]  # the state that predicts each token
        entropy = torch.empty(len(states), dtype=torch.float32, device=device)
        for s in range(0, len(states), tokens_per_chunk):
            logp = torch.log_softmax(head(states[s:s + tokens_per_chunk]).float(), dim=-1)
            entropy[s:s + tokens_per_chunk] = -(logp.exp() * logp).sum(-1)
        per_token = torch.zeros(mask.shape, dtype=torch.float32, device=device)
        per_token[mask.to(device).bool()] = entropy
        result[chunk] = sequence_mean(per_token, mask.to(device)).cpu().numpy()
    return result


@GENERATORS.register("vllm")
class VLLMGenerator:
    """vLLM's offline ``LLM`` (GPU): ``LLM.chat`` applies the model's chat template, as our sampler does."""

    def __init__(self, llm, path: str, seed: int) -> None:
        self.llm, self.path, self.seed = llm, path, seed
        self._scorer = None

    @classmethod
    def load(cls, path: str | Path, params: EvalParams, seed: int) -> "VLLMGenerator":
        """vLLM's engine on the model at ``path``, after the checks :func:`load_model` makes on CPU: a complete
        folder (config, tokenizer, readable weights) whose weights are all finite."""
        from ..models.tiny import check_finite_weights, check_model_folder

        check_model_folder(path)
        check_finite_weights(path)
        try:
            from vllm import LLM
        except ImportError:
            raise UserError("eval.backend: vllm needs the vllm package (pip install -e '.[gpu]' on a CUDA "
                            "machine); use eval.backend: transformers on CPU") from None
        v = params.vllm
        llm = LLM(model=str(path), tensor_parallel_size=v.tensor_parallel_size, dtype=v.dtype, seed=seed,
                  gpu_memory_utilization=v.gpu_memory_utilization, max_model_len=v.max_model_len)
        return cls(llm, str(path), seed)

    def sample(self, prompts: list[Messages], n: int, max_new_tokens: int, temperature: float, top_p: float,
               top_k: int, greedy: bool = False, with_entropy: bool = False,
               seed: int | None = None) -> Generation:
        from vllm import SamplingParams

        sampling = [SamplingParams(**vllm_sampling_kwargs(n, max_new_tokens, temperature, top_p, top_k, greedy,
                                                          vllm_request_seed(seed, i, n)))
                    for i in range(len(prompts))]
        outputs = self.llm.chat(prompts, sampling, use_tqdm=False)
        repeat = n if greedy else 1
        texts, tokens, index = [], [], []
        for i, out in enumerate(outputs):
            for completion in out.outputs:
                for _ in range(repeat):
                    texts.append(completion.text)
                    tokens.append(list(completion.token_ids))
                    index.append(i)
        entropy = None
        if with_entropy:
            model, tokenizer = self._transformers()
            entropy = teacher_forced_entropy(model, tokenizer, prompts, tokens, index)
        return Generation(texts, entropy)

    def _transformers(self):
        if self._scorer is None:
            from transformers import AutoTokenizer

            from ..models.tiny import load_causal_lm

            tokenizer = AutoTokenizer.from_pretrained(self.path)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            device = "cuda" if torch.cuda.is_available() else "cpu"
            model = load_causal_lm(self.path, dtype="auto").to(device).eval()
            self._scorer = (model, tokenizer)
        return self._scorer

    def close(self) -> None:
        self.llm = self._scorer = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def open_generator(path: str | Path, params: EvalParams, seed: int) -> Generator:
    """The ``eval.backend`` engine on the model at ``path``."""
    return GENERATORS.get_or_fail(params.backend, "eval.backend").load(path, params, seed)
