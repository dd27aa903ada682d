"""Chat prompts in the paper's format: reason in ``<think>…</think>``, answer in ``<answer>…</answer>``.

QA prompts list every candidate option in the context and ask for the answer's full text,
never a letter (Section 2.2, Appendix A.2.1); the letter format of Figure 3's ablation
(:mod:`.answer_formats`) lists them lettered and asks for the letter.
"""

from __future__ import annotations

from typing import Sequence

SYSTEM_PROMPT = ("Think step by step inside <think></think>, then give only the final answer "
                 "inside <answer></answer>.")


def chat(user: str, system: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """A two-message chat: the shared format instruction, then the task."""
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


CANDIDATES = "\nCandidate answers:\n"
LETTERS = "ABCDEFGHIJKLMNOP"


def qa_user_prompt(question: str, options: Sequence[str]) -> str:
    """An open-ended question with every candidate answer listed (no letters)."""
    listed = "\n".join(f"- {option}" for option in options)
    return (f"{question.strip()}{CANDIDATES}{listed}\n"
            "Answer with the full text of the correct candidate.")


def qa_question(user: str) -> str:
    """The question of a :func:`qa_user_prompt` (the text before its candidate list)."""
    if CANDIDATES not in user:
        raise ValueError("not a QA prompt of qa_user_prompt (no 'Candidate answers:' list)")
    return user.split(CANDIDATES, 1)[0]


def mcq_user_prompt(question: str, options: Sequence[str]) -> str:
    """A multiple-choice question: options lettered A, B, …; the answer is the letter alone."""
    if len(options) > len(LETTERS):
        raise ValueError(f"at most {len(LETTERS)} options can be lettered, got {len(options)}")
    listed = "\n".join(f"{letter}. {option}" for letter, option in zip(LETTERS, options))
    return f"{question.strip()}\nOptions:\n{listed}\nAnswer with the letter of the correct option only."


def code_user_prompt(task: str) -> str:
    """A coding task; the answer is a Python code block."""
    return f"{task.strip()}\nPut your Python code in a ```python block inside <answer></answer>."


def user_text(prompt: list[dict[str, str]] | str) -> str:
    """The last user message of a chat prompt (the question a judge sees)."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users else ""
