#!/usr/bin/env python3
"""Benchmark the llm-judge task against a fake Converse endpoint with a fixed latency.

``FakeConverse`` is a local HTTP server on 127.0.0.1 that implements bedrock-runtime's Converse
route (``POST /model/{modelId}/converse``) closely enough for botocore: canned replies, errors in
the service's shape (``x-amzn-ErrorType``, so botocore classifies a 429 as ThrottlingException),
delays, and a record of every request with the number of calls in flight. The tests of the task
use it too (tests/lambda_reward/tasks/test_llm_judge.py).

The benchmark points botocore at it (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, dummy credentials), then
grades GRPO-shaped batches through ``grade_batch``: ``--prompts`` prompts x ``--group-size``
rollouts, ``--duplicates`` of each group's answers repeating another one, every call answered after
``--latency`` seconds. The first batch is cold (boto3 imported, the client created, each worker
thread's first connection); the warm batches reuse the client, as a warm Lambda container does.
Printed per batch: wall time, peak calls in flight, calls made versus distinct answers.

    .venv/bin/python scripts/bench_llm_judge.py [--prompts 8] [--group-size 8] [--duplicates 2]
        [--latency 0.2] [--concurrency 16] [--repeats 3] [--check]

With --check the exit status is 1 when a target is missed on a warm batch: at most 1.5 s for the
batch, at least 16 calls in flight at once, no more calls than distinct answers (the cold batch is
printed, and must only make no more calls than distinct answers: its import and first connections
depend on the machine's load, and the fake endpoint shares this process's interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAX_BATCH_SECONDS = 1.5
MIN_PEAK_IN_FLIGHT = 16

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/converse$")


@dataclass(frozen=True)
class Reply:
    """What the fake endpoint answers one call with."""

    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    error_code: str | None = None  # x-amzn-ErrorType, as Bedrock sends it on errors
    delay: float = 0.0  # seconds before answering (on top of the server's latency)


def converse_reply(text: str, *, stop_reason: str = "end_turn", delay: float = 0.0) -> Reply:
    """A successful Converse response whose message is ``text``."""
    return Reply(body={
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
        "metrics": {"latencyMs": int(delay * 1000)},
    }, delay=delay)


def error_reply(status: int, code: str, message: str = "error", *, delay: float = 0.0) -> Reply:
    """An error in the service's shape: status, ``x-amzn-ErrorType`` and ``{"message": ...}``."""
    return Reply(status=status, body={"message": message}, error_code=code, delay=delay)


def score_reply(score: float = 7, *, delay: float = 0.0) -> Reply:
    """A judge's verdict: ``{"score": score, "reason": "fine"}``."""
    return converse_reply(json.dumps({"score": score, "reason": "fine"}), delay=delay)


@dataclass(frozen=True)
class Call:
    """One request the fake endpoint received."""

    model_id: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def user_text(self) -> str:
        return "".join(block.get("text", "") for block in self.body["messages"][-1]["content"])

    @property
    def system_text(self) -> str:
        return "".join(block.get("text", "") for block in self.body.get("system", []))


@dataclass
class FakeConverse:
    """bedrock-runtime's Converse route on 127.0.0.1; ``respond(call, number)`` decides each reply
    (``number`` counts the calls from 1). Use as a context manager; ``url`` is its endpoint."""

    respond: Callable[[Call, int], Reply] = field(default=lambda call, number: score_reply())
    latency: float = 0.0
    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.peak_in_flight = self.in_flight

    def __enter__(self) -> FakeConverse:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                match = _ROUTE.match(urllib.parse.urlsplit(self.path).path)
                if match is None:
                    self._send(error_reply(404, "UnknownOperationException", f"no route {self.path}"))
                    return
                call = Call(urllib.parse.unquote(match["model"]), json.loads(raw or b"{}"), dict(self.headers))
                with fake._lock:
                    fake.calls.append(call)
                    number = len(fake.calls)
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    reply = fake.respond(call, number)
                    pause = fake.latency + reply.delay
                    if pause > 0:
                        time.sleep(pause)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
                    if reply.error_code:
                        self.send_header("x-amzn-ErrorType", f"{reply.error_code}:http://internal.amazon.com/coral/")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its read timeout): nothing to answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-converse", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
    "AWS_SECRET_ACCESS_KEY": "fake-secret",
    "AWS_SESSION_TOKEN": "fake-token",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def pointed_at(fake: FakeConverse) -> Iterator[None]:
    """botocore aimed at the fake endpoint with dummy credentials, for the duration."""
    values = {**FAKE_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
              "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    saved = {name: os.environ.get(name) for name in [*values, "AWS_PROFILE", "AWS_ENDPOINT_URL"]}
    os.environ.update(values)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def batch(prompts: int, group_size: int, duplicates: int, salt: str) -> tuple[list[dict[str, Any]], int]:
    """GRPO-shaped grader samples and the number of distinct (prompt, answer, reference) among them."""
    samples = []
    distinct = set()
    for p in range(prompts):
        prompt = f"Explain topic {p} ({salt}) in two sentences."
        reference = f"Topic {p} is explained by its key facts."
        for r in range(group_size):
            variant = r if r < group_size - duplicates else r % max(group_size - duplicates, 1)
            answer = f"Answer {variant} about topic {p}: it works because of its key facts."
            distinct.add((prompt, answer, reference))
            samples.append({
                "id": f"{p}-{r}",
                "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
                "reference_answer": reference,
            })
    return samples, len(distinct)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--duplicates", type=int, default=2, help="answers of each group repeating another")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the fake judge takes per call")
    parser.add_argument("--concurrency", type=int, default=16, help="the task's maxConcurrency")
    parser.add_argument("--repeats", type=int, default=3, help="batches after the cold one")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    from lambda_reward.runtime.grader import grade_batch
    from lambda_reward.runtime.tasks import load_task

    task = load_task({"name": "llm-judge", "maxConcurrency": args.concurrency})
    misses = []
    with FakeConverse(latency=args.latency) as fake, pointed_at(fake):
        for run in range(1 + args.repeats):
            samples, distinct = batch(args.prompts, args.group_size, args.duplicates, salt=str(run))
            fake.reset()
            start = time.perf_counter()
            results = grade_batch(samples, task)
            wall = time.perf_counter() - start
            flagged = sum(any(m["name"] == "flagged" for m in r["metrics_list"]) for r in results)
            label = "cold" if run == 0 else f"warm {run}"
            print(f"{label:>7}: {len(samples)} samples in {wall:.3f} s; peak in flight {fake.peak_in_flight}; "
                  f"calls {len(fake.calls)} vs distinct answers {distinct}; flagged {flagged}")
            if run and wall > MAX_BATCH_SECONDS:
                misses.append(f"{label}: {wall:.3f} s > {MAX_BATCH_SECONDS} s")
            if run and fake.peak_in_flight < MIN_PEAK_IN_FLIGHT:
                misses.append(f"{label}: peak in flight {fake.peak_in_flight} < {MIN_PEAK_IN_FLIGHT}")
            if len(fake.calls) > distinct:
                misses.append(f"{label}: {len(fake.calls)} calls > {distinct} distinct answers")
            if flagged:
                misses.append(f"{label}: {flagged} samples flagged (the fake judge never fails)")
    for miss in misses:
        print(f"MISS {miss}")
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
