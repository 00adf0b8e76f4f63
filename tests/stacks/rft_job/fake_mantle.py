"""A local stand-in for Bedrock mantle's OpenAI-compatible fine-tuning API.

It serves the routes the runtime uses under a configurable prefix (/v1 or /openai/v1), keeps
files and jobs in memory, records every request, and verifies every request's SigV4 signature
by recomputing it with botocore's SigV4Auth from the received method, path, query, headers and
body, using the same fake credentials the test environment exports. Every request is also
checked against OpenAI's published OpenAPI document (openai_spec.validate_request); stop() fails
the test when any request broke it, naming the request and what was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.stacks.rft_job import openai_spec

ACCESS_KEY = "AKIDRFTJOBTESTKEY"
SECRET_KEY = "rft-job-test-secret-key"
SESSION_TOKEN = "rft-job-test-session-token"
SIGNING_REGION = "us-west-2"
SIGNING_SERVICE = "bedrock-mantle"

_AUTH_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")
OPENAI_PREFIX = "/v1"  # the path of OpenAI's API server (openai_spec.SPEC_SERVER)


@dataclass
class ReceivedRequest:
    method: str
    route: str  # path below the prefix, e.g. "/fine_tuning/jobs"
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    signature_ok: bool = False
    # What OpenAI's OpenAPI document does not allow in this request (openai_spec.validate_request);
    # None until it has been checked.
    spec_problems: list[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class QueuedFailure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Carry the request out first, then answer with the error (a response lost on the way back).
    after_processing: bool = False


def verify_sigv4(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> str | None:
    """None if the request carries a valid bedrock-mantle/us-west-2 signature, else why not."""
    authorization = headers.get("authorization")
    if not authorization:
        return "no Authorization header"
    match = _AUTH_HEADER.match(authorization)
    if not match:
        return f"Authorization is not SigV4: {authorization[:80]}"
    amz_date = headers.get("x-amz-date", "")
    if match["key"] != ACCESS_KEY:
        return f"signed with access key {match['key']}, not the test key"
    if (match["region"], match["service"]) != (SIGNING_REGION, SIGNING_SERVICE):
        return f"credential scope is {match['region']}/{match['service']}, expected {SIGNING_REGION}/{SIGNING_SERVICE}"
    if match["date"] != amz_date[:8]:
        return "credential scope date does not match X-Amz-Date"
    if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-SHA256 does not match the received body"
    if headers.get("x-amz-security-token") != SESSION_TOKEN:
        return "X-Amz-Security-Token is missing or wrong"

    signed_names = match["signed"].split(";")
    missing = [name for name in signed_names if name not in headers]
    if missing:
        return f"signed headers not received: {missing}"
    request = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{raw_path}",
        data=body,
        headers={name: headers[name] for name in signed_names},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), SIGNING_SERVICE, SIGNING_REGION)
    if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
        return "SignedHeaders differ from the recomputation"
    canonical_request = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical_request), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "signature does not verify"
    return None


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, part content type, bytes) for a multipart/form-data body."""
    boundary_match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not boundary_match:
        raise ValueError(f"not multipart/form-data: {content_type}")
    delimiter = b"--" + boundary_match.group(1).encode()
    chunks = body.split(delimiter)
    if chunks[-1].strip() != b"--":
        raise ValueError("multipart body does not end with the closing delimiter")
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("malformed multipart part")
        head, _, content = chunk[2:-2].partition(b"\r\n\r\n")
        part_headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            part_headers[name.strip().lower()] = value.strip()
        disposition = part_headers.get("content-disposition", "")
        name_match = re.search(r'\bname="([^"]*)"', disposition)
        filename_match = re.search(r'\bfilename="([^"]*)"', disposition)
        if not name_match:
            raise ValueError(f"part without a name: {disposition}")
        parts[name_match.group(1)] = (
            filename_match.group(1) if filename_match else None,
            part_headers.get("content-type"),
            content,
        )
    return parts


class FakeMantle:
    def __init__(self, route_prefix: str = "/v1") -> None:
        self.route_prefix = route_prefix.rstrip("/")
        self.requests: list[ReceivedRequest] = []
        self.signature_failures: list[str] = []
        self.protocol_errors: list[str] = []
        # "METHOD raw path: problem" for every request that broke OpenAI's OpenAPI document.
        self.spec_violations: list[str] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.supports_metadata_filter = True
        # A broken server that ignores `after` and always says there is more.
        self.repeats_cursor = False
        # A new job shows up in this many list calls only after the first (eventual consistency).
        self.list_lag_calls = 0
        # A server that accepts `metadata` and keeps none of it.
        self.drops_metadata = False
        self._hidden: dict[str, int] = {}
        self._failures: dict[tuple[str, str], list[QueuedFailure | None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeMantle:
        openai_spec.preload()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down; then fail if a request broke OpenAI's OpenAPI document."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.spec_violations:
            violations, self.spec_violations = self.spec_violations, []
            raise AssertionError(
                f"{len(violations)} request(s) to the fake mantle broke OpenAI's OpenAPI document:\n  "
                + "\n  ".join(violations)
            )

    def take_spec_violations(self) -> list[str]:
        """The spec violations so far, forgotten by the server (for tests that send broken requests on purpose)."""
        with self._lock:
            violations, self.spec_violations = self.spec_violations, []
        return violations

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.route_prefix}"

    # --- test controls -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        route: str,
        status: int,
        message: str,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        after_processing: bool = False,
        skip: int = 0,
    ) -> None:
        """Answer the next `times` requests to METHOD route (a regex) with an error.

        With after_processing, each request is carried out first (e.g. the job is created) and
        only its answer is replaced by the error. `skip` lets that many matching requests through
        first.
        """
        failure = QueuedFailure(
            status,
            {"error": {"message": message, "type": "error", "code": str(status)}},
            headers or {},
            after_processing,
        )
        self._failures.setdefault((method, route), []).extend([None] * skip + [failure] * times)

    def add_job(self, **fields: Any) -> dict[str, Any]:
        job_id = fields.pop("id", None) or f"ftjob-seed{next(self._ids)}"
        job = self._job_object(
            job_id, fields.pop("model", "openai.gpt-oss-20b"), fields.pop("training_file", "file-seed")
        )
        job.update(fields)
        self.jobs[job_id] = job
        return job

    def calls(self, method: str, route_regex: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.method == method and re.fullmatch(route_regex, r.route)]

    def assert_all_signed(self) -> None:
        assert self.requests, "the fake mantle server received no requests"
        assert self.signature_failures == [], self.signature_failures
        assert all(r.signature_ok for r in self.requests)
        assert self.protocol_errors == [], self.protocol_errors

    # --- request handling ----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        split = urlsplit(handler.path)
        path = split.path
        route = path[len(self.route_prefix) :] if path.startswith(self.route_prefix + "/") else None
        received = ReceivedRequest(
            method=handler.command,
            route=route if route is not None else path,
            raw_path=handler.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
        )
        with self._lock:
            self.requests.append(received)
            self._check_against_openai_spec(received, route, split.query)
            problem = verify_sigv4(handler.command, handler.path, headers, body)
            if problem is not None:
                self.signature_failures.append(f"{handler.command} {handler.path}: {problem}")
                self._send(handler, 403, {"message": f"SignatureDoesNotMatch: {problem}"})
                return
            received.signature_ok = True
            if route is None:
                self._send(handler, 404, {"error": {"message": f"no route {path} (prefix {self.route_prefix})"}})
                return
            failure = self._queued_failure(handler.command, route)
            if failure is not None and not failure.after_processing:
                self._send(handler, failure.status, failure.body, failure.headers)
                return
            try:
                status, payload = self._dispatch(received)
            except AssertionError as exc:
                self.protocol_errors.append(f"{handler.command} {route}: {exc}")
                status, payload = 400, {"error": {"message": f"fake mantle rejected the request: {exc}"}}
            if failure is not None:
                self._send(handler, failure.status, failure.body, failure.headers)
                return
            self._send(handler, status, payload)

    def _check_against_openai_spec(self, received: ReceivedRequest, route: str | None, query: str) -> None:
        """Record what OpenAI's document does not allow in the request.

        A request outside this server's prefix (a client with the wrong prefix, which gets a 404 as
        from the service) is read under OpenAI's own /v1, where a /v1 path may well be right.
        """
        path = received.raw_path.split("?", 1)[0]
        if route is None:
            route = path[len(OPENAI_PREFIX) :] if path.startswith(OPENAI_PREFIX + "/") else None
        if route is None:
            received.spec_problems = [f"{path} is not under /v1: OpenAI's API has no such route"]
        else:
            received.spec_problems = openai_spec.validate_request(
                received.method, route + (f"?{query}" if query else ""), received.headers, received.body
            )
        self.spec_violations.extend(
            f"{received.method} {received.raw_path}: {problem}" for problem in received.spec_problems
        )

    def _queued_failure(self, method: str, route: str) -> QueuedFailure | None:
        for (fail_method, pattern), queue in self._failures.items():
            if fail_method == method and re.fullmatch(pattern, route) and queue:
                return queue.pop(0)
        return None

    def _dispatch(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        method, route = request.method, request.route
        if method == "POST" and route == "/files":
            return self._create_file(request)
        if method == "DELETE" and (m := re.fullmatch(r"/files/([^/]+)", route)):
            deleted = self.files.pop(m.group(1), None)
            if deleted is None:
                return 404, {"error": {"message": "file not found"}}
            return 200, {"id": m.group(1), "object": "file", "deleted": True}
        if method == "GET" and route == "/fine_tuning/jobs":
            return self._list_jobs(request)
        if method == "POST" and route == "/fine_tuning/jobs":
            return self._create_job(request)
        if method == "GET" and (m := re.fullmatch(r"/fine_tuning/jobs/([^/]+)", route)):
            job = self.jobs.get(unquote(m.group(1)))
            return (200, job) if job else (404, {"error": {"message": "fine-tuning job not found"}})
        if method == "POST" and (m := re.fullmatch(r"/fine_tuning/jobs/([^/]+)/cancel", route)):
            job = self.jobs.get(unquote(m.group(1)))
            if job is None:
                return 404, {"error": {"message": "fine-tuning job not found"}}
            if job["status"] in TERMINAL_STATUSES:
                return 400, {"error": {"message": f"job is already {job['status']}"}}
            job["status"] = "cancelled"
            return 200, job
        return 404, {"error": {"message": f"no route {method} {route}"}}

    def _create_file(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        parts = parse_multipart(request.headers.get("content-type", ""), request.body)
        assert "purpose" in parts and parts["purpose"][2] == b"fine-tune", "purpose must be fine-tune"
        assert "file" in parts, "no file part"
        filename, content_type, content = parts["file"]
        assert filename, "file part has no filename"
        assert content, "file part is empty"
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = {"filename": filename, "content_type": content_type, "content": content}
        return 200, {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": "fine-tune",
            "status": "processed",
        }

    def _list_jobs(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        metadata_filter = {
            key[len("metadata[") : -1]: values[0]
            for key, values in request.query.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        if metadata_filter and not self.supports_metadata_filter:
            return 400, {"error": {"message": "Unrecognized request argument supplied: metadata"}}
        jobs = sorted(self.jobs.values(), key=lambda job: job["created_at"], reverse=True)
        lagging = {job_id for job_id, calls in self._hidden.items() if calls > 0}
        self._hidden = {job_id: calls - 1 for job_id, calls in self._hidden.items() if calls > 1}
        jobs = [job for job in jobs if job["id"] not in lagging]
        if metadata_filter:
            jobs = [j for j in jobs if all((j.get("metadata") or {}).get(k) == v for k, v in metadata_filter.items())]
        after = request.query.get("after", [None])[0]
        if self.repeats_cursor:
            limit = int(request.query.get("limit", ["20"])[0])
            return 200, {"object": "list", "data": jobs[:limit], "has_more": True}
        if after is not None:
            ids = [j["id"] for j in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", ["20"])[0])
        return 200, {"object": "list", "data": jobs[:limit], "has_more": len(jobs) > limit}

    def _create_job(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        assert request.headers.get("content-type", "").startswith("application/json"), "body must be JSON"
        body = request.json()
        assert isinstance(body.get("model"), str) and body["model"], "model is required"
        assert body.get("training_file") in self.files, "training_file must be an uploaded file id"
        if body.get("validation_file") is not None:
            assert body["validation_file"] in self.files, "validation_file must be an uploaded file id"
        metadata = body.get("metadata") or {}
        assert len(metadata) <= 16, "metadata has more than 16 keys"
        for key, value in metadata.items():
            assert isinstance(value, str) and len(value) <= 512 and len(key) <= 64, f"metadata {key} breaks limits"
        method = body.get("method") or {}
        assert method.get("type") == "reinforcement", "method.type must be reinforcement"
        grader = (method.get("reinforcement") or {}).get("grader") or {}
        assert grader.get("type") == "lambda", "grader.type must be lambda"
        assert (grader.get("lambda") or {}).get("function"), "grader.lambda.function is required"
        job_id = f"ftjob-{next(self._ids)}"
        job = self._job_object(job_id, body["model"], body["training_file"])
        job.update(
            validation_file=body.get("validation_file"),
            metadata=None if self.drops_metadata else metadata,
            method=method,
        )
        self.jobs[job_id] = job
        if self.list_lag_calls:
            self._hidden[job_id] = self.list_lag_calls
        return 200, job

    def _job_object(self, job_id: str, model: str, training_file: str) -> dict[str, Any]:
        return {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(time.time()) + next(self._ids),
            "model": model,
            "training_file": training_file,
            "validation_file": None,
            "status": "validating_files",
            "fine_tuned_model": None,
            "finished_at": None,
            "error": None,
            "hyperparameters": {},
            "organization_id": "org-bedrock",
            "result_files": [],
            "seed": 0,
            "trained_tokens": None,
            "metadata": None,
        }

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class CanonicalMantle:
    """Bedrock mantle's real endpoint, https://bedrock-mantle.us-west-2.api.aws, at the transport.

    The fake server above is reached through MANTLE_BASE_URL, so it cannot show which URL the
    code builds by default. This one replaces only the SDK's HTTP transport (`install` makes
    every mantle client the runtime builds use it): the request that arrives is exactly the one
    the SDK would send to AWS, host and path included, and its SigV4 signature is verified. It
    serves the job routes under /v1 only; any other path is a 404, as the service answers a
    wrong prefix.
    """

    HOST = "bedrock-mantle.us-west-2.api.aws"

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.signature_failures: list[str] = []
        self.jobs: dict[str, dict[str, Any]] = {}

    def add_job(self, job_id: str, status: str = "running") -> None:
        self.jobs[job_id] = {**FakeMantle()._job_object(job_id, "openai.gpt-oss-20b", "file-1"), "status": status}

    def install(self, monkeypatch: Any) -> None:
        import httpx2

        from stacks.rft_job.runtime import clients

        endpoint = self

        class Transported(clients.BufferedBodyOpenAI):
            def __init__(self, **options: Any) -> None:
                super().__init__(http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint.handle)), **options)

        monkeypatch.setattr(clients, "BufferedBodyOpenAI", Transported)
        clients.reset_client_caches()

    def paths(self) -> list[str]:
        return [f"{r.method} {r.raw_path}" for r in self.requests]

    def handle(self, request: Any) -> Any:
        import httpx2

        body = request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw_path = request.url.raw_path.decode()
        received = ReceivedRequest(
            request.method, request.url.path, raw_path, parse_qs(request.url.query.decode()), headers, body
        )
        self.requests.append(received)
        problem = verify_sigv4(request.method, raw_path, headers, body)
        if problem is not None:
            self.signature_failures.append(f"{request.method} {raw_path}: {problem}")
            return httpx2.Response(403, json={"message": f"SignatureDoesNotMatch: {problem}"})
        received.signature_ok = True
        if request.url.host != self.HOST or request.url.scheme != "https":
            return httpx2.Response(421, json={"error": {"message": f"wrong endpoint {request.url}"}})
        path = request.url.path
        if match := re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)", path):
            job = self.jobs.get(unquote(match.group(1)))
            return (
                httpx2.Response(200, json=job) if job else httpx2.Response(404, json={"error": {"message": "no job"}})
            )
        if (match := re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)/cancel", path)) and request.method == "POST":
            job = self.jobs[unquote(match.group(1))]
            job["status"] = "cancelled"
            return httpx2.Response(200, json=job)
        if re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)/events", path):
            return httpx2.Response(200, json={"object": "list", "data": [], "has_more": False})
        return httpx2.Response(404, json={"error": {"message": f"model isn't supported on this route: {path}"}})
