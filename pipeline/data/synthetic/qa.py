"""Synthetic QA over a fixed, seeded world of facts, with every candidate option in the prompt.

Measured on this machine (shared notes): a 1M-parameter model does not learn to copy an
option from the prompt, but it does learn a fixed world of facts during the warm start
and then answers with the options in the prompt. So the world has ``facts`` facts
(entity, relation → value); the warm start (``pretrain``) teaches a share
``pretrain_fact_fraction`` of them, which sets θ0's accuracy; train / val / test ask
about every fact, each with its own shuffled 16 options (1 correct + 15 distractors
of the same relation). Val and test therefore probe the same world as training, with
unseen option orders: this task measures what RL makes the policy retrieve.

A fact the warm start never taught is answered at chance (about 1 in 18, the relation's values),
and a taught one almost always right, so nearly every GRPO group on θ0 has σ_q = 0 (all right or
all wrong) and no advantage: measured, 7 of 8 groups per step, and +0.006 ± 0.007 held-out accuracy
after 80 steps. ``pretrain_answer_accuracy`` < 1 makes the warm start *misremember*: each taught
fact gets one confusable value (a fixed distractor of the same relation), and only that share of its
warm-start completions give the true value, the rest the confusable one. θ0 then hesitates between
two values on the taught facts (as an SFT model does on half-learnt knowledge), its groups there have
σ_q > 0, and GRPO sharpens them towards the value the reward confirms.
"""

from __future__ import annotations

import numpy as np

from ...config import TaskDataParams
from ..prompts import chat, qa_user_prompt
from ..splits import content_id
from .base import Record, generate_pool_and_pretrain, register_generator

RELATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "color": ("What is the favourite colour of {e}?", (
        "red", "blue", "green", "yellow", "purple", "orange", "black", "white", "grey", "pink", "brown", "teal",
        "gold", "silver", "navy", "olive", "coral", "ivory")),
    "animal": ("Which animal does {e} keep?", (
        "cat", "dog", "horse", "goat", "owl", "fox", "bear", "wolf", "deer", "frog", "duck", "crab", "seal", "lynx",
        "hare", "mole", "newt", "yak")),
    "food": ("What does {e} eat for breakfast?", (
        "bread", "rice", "eggs", "fish", "soup", "figs", "plums", "beans", "corn", "oats", "nuts", "pears", "honey",
        "cheese", "dates", "melon", "kiwi", "limes")),
    "tool": ("Which tool does {e} carry?", (
        "hammer", "saw", "drill", "rope", "lamp", "knife", "shovel", "brush", "ladder", "chisel", "wrench", "axe",
        "needle", "compass", "kettle", "scale", "file", "clamp")),
}
SYLLABLES = ("ka", "lo", "mi", "ra", "to", "ve", "zu", "po", "ne", "si", "da", "fu", "gi", "ho", "ju", "ba")


def world(n_facts: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """``n_facts`` distinct (entity, relation, value) triples."""
    facts: dict[tuple[str, str], str] = {}
    relations = list(RELATIONS)
    while len(facts) < n_facts:
        name = "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()
        relation = relations[int(rng.integers(len(relations)))]
        if (name, relation) not in facts:
            facts[(name, relation)] = str(rng.choice(RELATIONS[relation][1]))
    return [(e, r, v) for (e, r), v in facts.items()]


@register_generator("synthetic_qa")
def generate(cfg: TaskDataParams, task: str, rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    max_options = min(len(values) for _, values in RELATIONS.values())
    if cfg.n_options > max_options:
        raise ValueError(f"synthetic_qa supports at most {max_options} options, got n_options={cfg.n_options}")
    facts = world(cfg.facts, rng)
    taught = set(rng.permutation(len(facts))[: round(cfg.pretrain_fact_fraction * len(facts))].tolist())
    confusable = {i: str(rng.choice([v for v in RELATIONS[facts[i][1]][1] if v != facts[i][2]]))
                  for i in sorted(taught)} if cfg.pretrain_answer_accuracy < 1 else {}

    def make(kind: str) -> Record:
        pool = sorted(taught) if kind == "pretrain" else range(len(facts))
        index = int(rng.choice(list(pool)))
        entity, relation, value = facts[index]
        template, values = RELATIONS[relation]
        first = [confusable[index]] if index in confusable else []
        distractors = [v for v in values if v != value and v not in first]
        options = [value, *first, *rng.choice(distractors, size=cfg.n_options - 1 - len(first), replace=False).tolist()]
        options = [options[i] for i in rng.permutation(len(options))]
        question = template.format(e=entity)
        answer = value
        if kind == "pretrain" and first and rng.random() >= cfg.pretrain_answer_accuracy:
            answer = first[0]
        return {
            "id": content_id(task, question, *options), "task": task, "source": "synthetic_qa", "split": "train",
            "prompt": chat(qa_user_prompt(question, options)), "reference": value,
            "meta": {"options": options, "category": relation, "fact": index, "taught": index in taught,
                     "completion": f"<think>{entity} {relation}</think><answer>{answer}</answer>"},
        }

    if cfg.pretrain_n and not taught:
        raise ValueError("synthetic_qa: pretrain_n > 0 but pretrain_fact_fraction teaches no fact")
    return generate_pool_and_pretrain(make, cfg, rng)
