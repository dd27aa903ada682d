"""Pairwise LLM-as-a-Judge against the reference (Section 2.2, Appendix A.1), and its offline twin.

``r_writing(q, o) = 1 if o ≻ o_ref, 0.5 if tie, 0 if o ≺ o_ref``. To cancel position bias
the judge sees both orders (response as A, then as B) and the two scores are averaged.

:class:`LLMJudge` talks to any OpenAI-compatible endpoint with the ``openai`` async client:
the judge reasons first, then ends with ``[[A]]``, ``[[B]]`` or ``[[C]]`` (tie); the *last*
tag counts. A reply without a verdict gets one retry with a reminder, then the component
is undefined (``None``) and counted. Requests are bounded by a semaphore and retried with
exponential backoff on 429, 5xx, timeouts and connection errors.

**Threads and processes.** verl's reward managers call the reward function from many executor
threads at once, in several reward-worker processes. The judge runs its requests on one event
loop of its own, in a daemon thread started on first use (again after a fork), and every caller,
from any thread, submits its batch to it and waits; so the semaphore and the connection pools are
shared by all threads of a process. ``processes`` is the number of processes that share the run's
``concurrency`` (verl's reward workers): each bounds its own requests to an equal share, so the
whole run never has more than ``concurrency`` in flight. A batch that is not judged within
:func:`judge_deadline` is cancelled: its verdicts are undefined and counted in ``stats.timeouts``
(never a silent 0). Every verdict is cached
on disk, keyed by judge model, prompt version, question, reference, response, order,
temperature and sample index, so a rerun makes zero calls (a reply without a verdict is not
cached: the next run asks again); token usage is accounted.

:class:`RubricJudge` judges the synthetic writing tasks of the embedded default offline,
with the same ternary protocol: the text meeting more rubric criteria wins.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..config import JudgeParams
from ..errors import UserError
from ..io import write_json_atomic
from .rate_limit import RateLimiter

PROMPT_VERSION = "pairwise-v1"
SYSTEM = ("Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants "
          "to the user request displayed below. Judge creativity, adherence to every instruction of the request, "
          "coherence, style and depth. Avoid any position bias: the order of the responses must not influence you, "
          "and neither must their length. First explain your reasoning briefly, then output your final verdict by "
          "strictly following this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, "
          "and \"[[C]]\" for a tie.")
TEMPLATE = ("[User Request]\n{question}\n\n[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]"
            "\n\n[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]")
REMINDER = "Your reply had no verdict. End your reply with exactly one of [[A]], [[B]] or [[C]]."
VERDICT = re.compile(r"\[\[(A|B|C)\]\]")
SCALE = ("A", "B", "C")
SCORE = {("A", 0): 1.0, ("B", 0): 0.0, ("A", 1): 0.0, ("B", 1): 1.0, ("C", 0): 0.5, ("C", 1): 0.5}


def parse_verdict(text: str) -> str | None:
    """The last ``[[A]]``/``[[B]]``/``[[C]]`` of a judge reply, or ``None``."""
    found = VERDICT.findall(text or "")
    return found[-1] if found else None


def combine(verdicts: Sequence[str | None]) -> float | None:
    """Average the response's score over both orders (order 0: response is A; order 1: response is B)."""
    if any(v is None for v in verdicts):
        return None
    return sum(SCORE[(v, order)] for order, v in enumerate(verdicts)) / len(verdicts)


@dataclass
class JudgeStats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    malformed: int = 0
    undefined: int = 0
    timeouts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


CONNECTIONS_PER_CLIENT = 8


class MalformedReply(ValueError):
    """A reply that is JSON but not a chat completion."""


def _content(reply: Any) -> str:
    """The message text of a chat-completion reply; :class:`MalformedReply` when it is not one."""
    try:
        message = reply["choices"][0]["message"]
        if not isinstance(message, dict):
            raise TypeError("the message is not an object")
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise MalformedReply(f"not a chat completion: {str(reply)[:80]!r}") from None
    if content is not None and not isinstance(content, str):
        raise MalformedReply(f"message content is a {type(content).__name__}, not text")
    return content or ""


def _tokens(usage: Any, key: str) -> int:
    """A token count of the reply's ``usage``, 0 when it is missing or malformed (it is bookkeeping only)."""
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


PROBE = "Reply with one word: ready."
"""The request a stage sends before it commits GPUs to a run that calls the judge."""


CHARS_PER_TOKEN = 4  # the rate limiter's estimate of a prompt's tokens (English text, GPT tokenizers)


class JudgeUnavailable(UserError):
    """The judge endpoint cannot be used (wrong key, model or URL, or it failed every retry): one line."""


def judge_deadline(params: JudgeParams) -> float:
    """``deadline_s``, else the longest one item may take when the endpoint is slow but answers: both orders
    run side by side, each is up to two calls (the reply, then the reminder), and each call up to
    ``max_retries + 1`` tries of ``timeout_s`` with the backoff between them (at most twice its base,
    :meth:`LLMJudge._complete`)."""
    if params.deadline_s is not None:
        return params.deadline_s
    backoff = sum(params.backoff_s * (2 ** attempt) * 2 for attempt in range(params.max_retries))
    return 2 * ((params.max_retries + 1) * params.timeout_s + backoff)


def share_of_concurrency(concurrency: int, processes: int) -> int:
    """Requests in flight allowed to each of ``processes`` processes so that together they stay within
    ``concurrency``."""
    if processes < 1 or concurrency < processes:
        raise UserError(f"rewards.judge.concurrency ({concurrency}) must be at least the number of processes "
                        f"that call the judge ({processes}: train.verl.reward_workers), so that each may send one")
    return concurrency // processes


@dataclass
class LLMJudge:
    params: JudgeParams
    stats: JudgeStats = field(default_factory=JudgeStats)
    processes: int = 1  # processes sharing params.concurrency (verl's reward workers)

    def __post_init__(self) -> None:
        self.base_url = self.params.base_url or os.environ.get("OPENAI_BASE_URL")
        self.api_key = os.environ.get(self.params.api_key_env) or ("EMPTY" if self.base_url else None)
        if self.api_key is None:
            raise UserError(f"the LLM judge needs an API key in ${self.params.api_key_env} (or a base_url of a "
                            "local OpenAI-compatible server)")
        self.cache = Path(self.params.cache_dir)
        self.concurrency = share_of_concurrency(self.params.concurrency, self.processes)
        self._limits = (None if self.params.max_rpm is None else self.params.max_rpm / self.processes,
                        None if self.params.max_tpm is None else self.params.max_tpm / self.processes)
        self._limiter: RateLimiter | None = None
        self.deadline_s = judge_deadline(self.params)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._sem: asyncio.Semaphore | None = None
        self._async_clients: list[Any] = []
        self._warned: set[Path] = set()

    def _key(self, question: str, reference: str, response: str, order: int, sample: int) -> Path:
        payload = json.dumps([self.params.model, PROMPT_VERSION, question, reference, response, order,
                              self.params.temperature, sample])
        digest = hashlib.sha256(payload.encode()).hexdigest()
        return self.cache / digest[:2] / f"{digest}.json"

    async def _complete(self, client: Any, messages: list[dict[str, str]]) -> str | None:
        import openai

        if self._limiter is None:  # created on the judge's event loop, one per process
            self._limiter = RateLimiter(*self._limits)
        tokens = sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN + self.params.reply_tokens
        for attempt in range(self.params.max_retries + 1):
            await self._limiter.acquire(tokens)  # every try is a request the API counts
            try:
                # The client's low-level `post` sends the same request as `chat.completions.create`
                # (same retries, errors and headers) without its per-call TypedDict transform and
                # pydantic response model, which cost more CPU than a round trip to a nearby server.
                reply = await client.post("/chat/completions", cast_to=dict,
                                          body={"model": self.params.model, "messages": messages,
                                                "temperature": self.params.temperature})
                self.stats.calls += 1
                content = _content(reply)
                usage = reply.get("usage") if isinstance(reply, dict) else None
                self.stats.prompt_tokens += _tokens(usage, "prompt_tokens")
                self.stats.completion_tokens += _tokens(usage, "completion_tokens")
                return content
            except (json.JSONDecodeError, openai.APIResponseValidationError, MalformedReply):
                # a garbled reply (a proxy's HTML page, a content that is not text): retried, then no verdict
                if attempt == self.params.max_retries:
                    self.stats.malformed += 1
                    return None
                self.stats.retries += 1
            except (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                    openai.InternalServerError) as exc:
                if attempt == self.params.max_retries:
                    raise JudgeUnavailable(f"judge endpoint {self.base_url or 'api.openai.com'} (model "
                                           f"{self.params.model}) failed after {attempt + 1} tries: "
                                           f"{type(exc).__name__}") from None
                self.stats.retries += 1
            except openai.APIStatusError as exc:  # 400, 401, 403, 404, 422: asking again cannot help
                raise JudgeUnavailable(f"judge endpoint {self.base_url or 'api.openai.com'} (model "
                                       f"{self.params.model}): HTTP {exc.status_code} {type(exc).__name__}, not "
                                       "retried (check rewards.judge.model, base_url and the API key)") from None
            await asyncio.sleep(self.params.backoff_s * (2 ** attempt) * (1 + random.random()))
        raise AssertionError("unreachable")

    async def _verdict(self, client: Any, sem: asyncio.Semaphore, question: str, response: str, reference: str,
                       order: int, sample: int) -> str | None:
        path = self._key(question, reference, response, order, sample)
        if path.exists():
            cached = self._cached(path)
            if cached is not None:
                self.stats.cache_hits += 1
                return cached
        a, b = (response, reference) if order == 0 else (reference, response)
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": TEMPLATE.format(question=question, a=a, b=b)}]
        async with sem:
            text = await self._complete(client, messages)
            verdict = parse_verdict(text) if text is not None else None
            if verdict is None and text is not None:
                self.stats.malformed += 1
                messages += [{"role": "assistant", "content": text}, {"role": "user", "content": REMINDER}]
                text = await self._complete(client, messages)
                verdict = parse_verdict(text) if text is not None else None
        if verdict is not None:  # "no verdict" is not final: the next run asks again
            write_json_atomic(path, {"verdict": verdict, "reply": text, "model": self.params.model,
                                     "prompt_version": PROMPT_VERSION, "order": order, "sample": sample})
        return verdict

    def _cached(self, path: Path) -> str | None:
        """A cached verdict, or None (asked again, and the entry rewritten) when the entry is unreadable, not
        JSON or holds no verdict on the scale: warned once per file, never a crash on a rerun."""
        try:
            verdict = json.loads(path.read_text(encoding="utf-8")).get("verdict")
        except (OSError, ValueError, AttributeError):
            verdict = None
        if verdict in SCALE:
            return verdict
        with self._lock:
            if path not in self._warned:
                self._warned.add(path)
                print(f"warning: judge cache entry {path} is corrupt; asking the judge again", file=sys.stderr)
        return None

    def _clients(self) -> list[Any]:
        """Clients (and connection pools) kept for the judge's lifetime, so that every batch of a training
        run reuses open connections instead of paying client set-up and TLS handshakes per step.

        Requests are spread over one client per :data:`CONNECTIONS_PER_CLIENT` requests in flight:
        httpcore's pool scans all of its connections for every request it assigns: with 64 requests in
        flight one pool cost ~5 ms of client CPU per call on a 2-core machine, 8 pools of 8 ~3.5 ms."""
        if not self._async_clients:
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            try:  # the HTTP library of the installed openai client
                from httpx2 import create_ssl_context
            except ImportError:
                from httpx import create_ssl_context

            shards = -(-self.concurrency // CONNECTIONS_PER_CLIENT)
            tls = create_ssl_context()  # the client's default CA setup, loaded once: the costly part of a client
            self._async_clients = [AsyncOpenAI(base_url=self.base_url, api_key=self.api_key,
                                               timeout=self.params.timeout_s, max_retries=0,
                                               http_client=DefaultAsyncHttpxClient(verify=tls))
                                   for _ in range(shards)]
        return self._async_clients

    async def _judge_all(self, items: Sequence[tuple[str, str, str]]) -> list[float | None]:
        clients = self._clients()
        if self._sem is None:  # one per process: every caller's requests share it (created on the loop's thread)
            self._sem = asyncio.Semaphore(self.concurrency)
        sem = self._sem
        tasks = [asyncio.ensure_future(self._verdict(clients[(2 * i + order) % len(clients)], sem, q, r, ref, order,
                                                     0))
                 for i, (q, r, ref) in enumerate(items) for order in (0, 1)]
        try:
            flat = await asyncio.gather(*tasks)
        except BaseException:  # one failed for good (or the batch was cancelled): stop the others and collect them
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        results = [flat[2 * i:2 * i + 2] for i in range(len(items))]
        scores = [combine(v) for v in results]
        with self._lock:
            self.stats.undefined += sum(s is None for s in scores)
        return scores

    def probe(self) -> None:
        """One request to the endpoint (no cache): returns when it answers at all, raises
        :class:`JudgeUnavailable` (one line naming endpoint and model) when it refuses or cannot be reached."""

        async def ask() -> str | None:
            return await self._complete(self._clients()[0], [{"role": "user", "content": PROBE}])

        future = asyncio.run_coroutine_threadsafe(ask(), self._running_loop())
        try:
            future.result(timeout=self.deadline_s)
        except TimeoutError:
            future.cancel()
            raise JudgeUnavailable(f"judge endpoint {self.base_url or 'api.openai.com'} (model {self.params.model}) "
                                   f"did not answer within {self.deadline_s:.0f} s") from None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The judge's event loop, running in its own daemon thread (started anew in a forked child, whose
        copy of the parent's thread does not run)."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="llm-judge", daemon=True)
                self._thread.start()
                self._loop, self._pid, self._sem, self._async_clients = loop, os.getpid(), None, []
                self._limiter = None
            return self._loop

    def judge_many(self, items: Sequence[tuple[str, str, str]],
                   metas: Sequence[dict] | None = None) -> list[float | None]:
        """Scores for ``(question, response, reference)`` triples (``metas`` unused). Safe to call from any
        number of threads at once; a batch not judged within :attr:`deadline_s` is cancelled and scored
        undefined (``None``), each of its items counted in ``stats.timeouts`` and ``stats.undefined``."""
        import concurrent.futures

        if not items:
            return []
        future = asyncio.run_coroutine_threadsafe(self._judge_all(items), self._running_loop())
        try:
            return future.result(timeout=self.deadline_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            with self._lock:
                self.stats.timeouts += len(items)
                self.stats.undefined += len(items)
            return [None] * len(items)

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop, self._thread, self._sem = None, None, None
        if loop is not None and self._pid == os.getpid():
            clients, self._async_clients = self._async_clients, []

            async def shutdown() -> None:
                for client in clients:
                    await client.close()

            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=30)
            loop.close()
        self._async_clients = []


@dataclass
class RubricJudge:
    """Offline judge for the synthetic writing tasks: more rubric criteria met wins (same two-order protocol)."""

    stats: JudgeStats = field(default_factory=JudgeStats)

    @staticmethod
    def verdict(a: str, b: str, rubric: dict) -> str:
        from ..data.synthetic.writing import criteria

        met_a, met_b = sum(criteria(a, rubric).values()), sum(criteria(b, rubric).values())
        return "A" if met_a > met_b else "B" if met_b > met_a else "C"

    def judge_many(self, items: Sequence[tuple[str, str, str]],
                   metas: Sequence[dict] | None = None) -> list[float | None]:
        scores: list[float | None] = []
        for (_question, response, reference), meta in zip(items, metas or [{}] * len(items)):
            rubric = (meta or {}).get("rubric")
            if rubric is None:
                self.stats.undefined += 1
                scores.append(None)
                continue
            both = [self.verdict(response, reference, rubric), self.verdict(reference, response, rubric)]
            scores.append(combine(both))
        return scores
