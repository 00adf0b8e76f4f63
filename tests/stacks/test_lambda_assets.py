"""Every Lambda of the app as Lambda runs it: the synthesized asset, the template's handler and environment.

The app is synthesized with its real bundling (pip, arm64 wheels). For each of our functions the
handler named in the template is imported from the staged asset, in a fresh interpreter without
site-packages or the project checkout on its path, with the template's environment variables set.
The asset's dependencies are wheels for cp313 on arm64, which this machine cannot load, so they are
served from the test environment, which runs exactly the same pins (test_python_asset checks that);
every module the import pulls in must then be the standard library or something the asset ships.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from tests.conftest import CDK_CONTEXT, OPTIONAL_WHEN_INSTALLED

CDK_OWNED_HANDLERS = {"framework.onEvent", "index.handler"}  # the Provider framework's and CDK's own code
# What Lambda's Python runtime itself provides. Powertools imports botocore if it can (for a
# user-agent hook) and does without it; a function that needs a pinned SDK ships it.
LAMBDA_RUNTIME_PROVIDES = {"boto3", "botocore", "jmespath", "urllib3", "dateutil", "s3transfer", "six"}

# Runs in the fresh interpreter: sys.argv[1] is a JSON job.
PROBE = r"""
import importlib, json, sys
job = json.loads(sys.argv[1])
sys.path[:0] = [job["code"]]
sys.path.extend(job["dependencies"])
before = set(sys.modules)
module_name, function_name = job["handler"].rsplit(".", 1)
module = importlib.import_module(module_name)
function = getattr(module, function_name)
result = None
if job.get("event") is not None:
    class Context:
        function_name = "probe"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
        aws_request_id = "00000000-0000-0000-0000-000000000000"
        def get_remaining_time_in_millis(self):
            return 60_000
    result = function(job["event"], Context())
print(json.dumps({
    "callable": callable(function),
    "file": module.__file__,
    "loaded": sorted({name.split(".")[0] for name in set(sys.modules) - before}),
    "result": result,
}))
"""

GRADER_EVENT = [{"id": "probe-1", "messages": [
    {"role": "user", "content": "AIとは何か30文字以内で説明して"},
    {"role": "assistant", "content": "人工知能のことです。"}]}]


def asset_top_level(asset: Path) -> tuple[set[str], set[str]]:
    """(names the asset's dependencies install, names of the asset's own code) at its top level."""
    dependencies: set[str] = set()
    for record in asset.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            first = line.split(",", 1)[0].split("/", 1)[0]
            dependencies.add(first.split(".", 1)[0])
    own = {entry.name.split(".", 1)[0] for entry in asset.iterdir()} - dependencies
    return dependencies, {name for name in own if not name.endswith("-info")}


def is_standard_library(name: str) -> bool:
    # Besides the named modules: the interpreter's build data and multiprocessing's alias of __main__.
    return name in sys.stdlib_module_names or name.startswith("_sysconfigdata") or name == "__mp_main__"


def placeholder(value: Any) -> str:
    # Template values that CloudFormation resolves at deploy time ({"Ref": ...}) become stand-ins.
    return value if isinstance(value, str) else "probe-" + json.dumps(value, sort_keys=True)[:40]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("bundled")
    app, stacks = build_app({**CDK_CONTEXT, "aws:cdk:enable-asset-metadata": True}, outdir=str(outdir), nag=False)
    assembly = app.synth()
    return outdir, {stack.stack_name: assembly.get_stack_by_name(stack.stack_name).template for stack in stacks}


def our_functions(templates: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for stack_name, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if (resource["Type"] == "AWS::Lambda::Function"
                    and resource["Properties"]["Handler"] not in CDK_OWNED_HANDLERS):
                found.append((stack_name, logical_id, resource))
    return found


@pytest.mark.slow
def test_every_function_imports_its_handler_from_its_own_asset(bundled, tmp_path: Path) -> None:
    outdir, templates = bundled
    functions = our_functions(templates)
    # Both variants: the grader, the launcher and the tracker.
    assert len(functions) == 3 * len(templates), [f[1] for f in functions]
    site_packages = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    checked: set[tuple[str, str]] = set()
    for stack_name, logical_id, resource in functions:
        properties = resource["Properties"]
        asset = outdir / resource["Metadata"]["aws:asset:path"]
        handler = properties["Handler"]
        dependencies, own = asset_top_level(asset)
        assert own, f"{logical_id}: the asset holds no code of its own"
        # The asset's own code, without its (foreign-platform) dependencies.
        code = tmp_path / f"{stack_name}-{logical_id}"
        code.mkdir()
        for name in own:
            (code / name).symlink_to(asset / name)
        environment = {name: placeholder(value)
                       for name, value in properties.get("Environment", {}).get("Variables", {}).items()}
        is_grader = handler.endswith(".handler.handler") and handler.startswith("lambda_reward.")
        job = {"code": str(code), "dependencies": site_packages, "handler": handler,
               "event": GRADER_EVENT if is_grader else None}
        run = subprocess.run(
            # -S: no site-packages and no .pth files (so not the editable install of this checkout);
            # -B: no .pyc written, as in Lambda's read-only /var/task.
            [sys.executable, "-S", "-B", "-c", PROBE, json.dumps(job)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", **environment},
        )
        assert run.returncode == 0, f"{stack_name} {logical_id} ({handler}):\n{run.stderr[-3000:]}"
        found = json.loads(run.stdout.strip().splitlines()[-1])
        assert found["callable"], handler
        assert found["file"].startswith(str(code)), f"{handler} was imported from {found['file']}, not its asset"
        foreign = {name for name in found["loaded"] if not is_standard_library(name)}
        foreign -= dependencies | own | LAMBDA_RUNTIME_PROVIDES | OPTIONAL_WHEN_INSTALLED
        assert not foreign, f"{handler} imports what its asset does not ship: {sorted(foreign)}"
        if is_grader:
            (scored,) = found["result"]
            assert (scored["id"], scored["aggregate_reward_score"]) == ("probe-1", 1.0), scored
        checked.add((stack_name, handler))
    assert len(checked) == len(functions)


# The grader's asset ships the Powertools parts its handler loads (the test above runs it) and not
# the rest; lambda_reward/infrastructure.py names what is pruned.
GRADER_PRUNED = ("aws_lambda_powertools/event_handler", "aws_lambda_powertools/middleware_factory",
                 "aws_lambda_powertools/utilities/data_classes", "aws_lambda_powertools/utilities/parser",
                 "aws_lambda_powertools/utilities/idempotency", "aws_lambda_powertools/utilities/batch",
                 "aws_lambda_powertools/utilities/parameters", "regex/tests")
GRADER_KEPT = ("aws_lambda_powertools/__init__.py", "aws_lambda_powertools/logging", "aws_lambda_powertools/metrics",
               "aws_lambda_powertools/tracing", "aws_lambda_powertools/shared", "aws_lambda_powertools/exceptions",
               "aws_lambda_powertools/warnings", "aws_lambda_powertools/utilities/typing",
               "aws_lambda_powertools/utilities/jmespath_utils", "regex/_regex_core.py")
# Bytes of the files, unzipped: 7.07 MB with Powertools whole (3.50 MB of it), 3.59 MB pruned
# (Powertools 0.28 MB); jsonschema and its dependencies (the json-schema task, every task's options)
# add about 1.4 MB pruned, 1.07 MB of it rpds' native module. The bound leaves room for updates and
# fails if Powertools came back whole.
GRADER_MAX_BYTES = 5_500_000
# Imports the kept code makes only on a path the grader cannot take: Powertools turns a pydantic
# model into a dict through event_handler's helper, and pydantic is not in the asset at all.
ALLOWED_DANGLING_IMPORTS = {
    ("aws_lambda_powertools/shared/functions.py", "aws_lambda_powertools.event_handler.openapi.compat"),
}


def dangling_imports(root: Path, package: str) -> set[tuple[str, str]]:
    """(file, module) for each import in `package`'s files of a module of `package` that is not in `root`.

    Every import statement counts, also those inside functions (lazy imports), except the ones
    under `if TYPE_CHECKING:`, which never run.
    """

    def present(module: str) -> bool:
        path = root.joinpath(*module.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    def defines(module: str, name: str) -> bool:
        # `from package import name`: a name the package's __init__ binds, else its submodule.
        init = root.joinpath(*module.split("."), "__init__.py")
        if not init.is_file():
            return True  # a plain module: `name` is an attribute of it
        bound = set()
        statements = list(ast.parse(init.read_text(encoding="utf-8")).body)
        while statements:  # the module's top level, into if / try / with blocks but not functions
            statement = statements.pop()
            if isinstance(statement, (ast.If, ast.Try, ast.With)):
                statements += [*statement.body, *getattr(statement, "orelse", []),
                               *getattr(statement, "finalbody", []),
                               *(line for handler in getattr(statement, "handlers", []) for line in handler.body)]
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(statement.name)
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                bound |= {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                bound |= {node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)}
        return name in bound or "__getattr__" in bound  # a module __getattr__ makes any name (PEP 562)

    found = set()
    for file in sorted((root / package).rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        parts = list(file.relative_to(root).with_suffix("").parts)
        package_parts = parts[:-1]  # a module's package; for __init__.py, the package itself
        type_checking = {id(node) for branch in ast.walk(tree)
                         if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
                         for statement in branch.body for node in ast.walk(statement)}
        for node in ast.walk(tree):
            if id(node) in type_checking:
                continue
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package_parts[:len(package_parts) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                modules = [source] + [f"{source}.{alias.name}" for alias in node.names
                                      if alias.name != "*" and present(source) and not defines(source, alias.name)]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == package and not present(module):
                    found.add((file.relative_to(root).as_posix(), module))
    return found


@pytest.mark.slow
def test_the_grader_asset_ships_what_its_handler_imports_and_is_half_the_size(bundled) -> None:
    outdir, templates = bundled
    assets = {outdir / resource["Metadata"]["aws:asset:path"] for _, _, resource in our_functions(templates)
              if resource["Properties"]["Handler"].startswith("lambda_reward.")}
    assert len(assets) == 1, assets  # one grader asset, shared by both stacks
    (asset,) = assets
    assert not [path for path in GRADER_PRUNED if (asset / path).exists()]
    assert not [path for path in GRADER_KEPT if not (asset / path).exists()]
    # The .dist-info folders stay, and their RECORD lists only what is there.
    for dist_info in ("aws_lambda_powertools-*.dist-info", "regex-*.dist-info"):
        (record,) = asset.glob(f"{dist_info}/RECORD")
        listed = [line.split(",", 1)[0] for line in record.read_text().splitlines() if line]
        assert not [path for path in listed if not path.startswith("../") and not (asset / path).exists()], record
    assert dangling_imports(asset, "aws_lambda_powertools") == ALLOWED_DANGLING_IMPORTS
    size = sum(path.stat().st_size for path in asset.rglob("*") if path.is_file())
    assert size <= GRADER_MAX_BYTES, f"grader asset is {size:,} bytes unzipped"


# Tasks whose scores need a service this machine has no fake for in this test (llm-judge's own
# tests run it against a local Converse endpoint).
TASKS_CALLING_OUT = {"llm-judge"}
# jsonschema tries these for optional format checkers (`with suppress(ImportError)` in its _format.py):
# where they are missing, as in the asset, it does without them, and the json-schema task asserts only
# formats that need none of them, so the asset and this checkout judge alike.
JSONSCHEMA_OPTIONAL_IMPORTS = {"fqdn", "idna", "rfc3986_validator", "rfc3987_syntax", "rfc3339_validator",
                               "webcolors", "jsonpointer", "uri_template", "isoduration"}


def task_event(name: str, records: int = 4) -> list[dict[str, Any]]:
    """Samples from the task's own validation set, each answered with its reference (as text) and with a miss."""
    from stacks.config import TASK_DATA_DIRECTORY, TASK_VALIDATION_FILE

    lines = (TASK_DATA_DIRECTORY / name / TASK_VALIDATION_FILE).read_text(encoding="utf-8").splitlines()[:records]
    event = []
    for index, line in enumerate(lines):
        record = json.loads(line)
        reference = next((record[key] for key in ("reference_answer", "ground_truth") if key in record), "42")
        if isinstance(reference, dict) and "ground_truth" in reference:  # tool-call: the calls themselves
            reference = reference["ground_truth"]
        if isinstance(reference, list) and all(isinstance(call, str) for call in reference):
            reference = "\n".join(reference)
        answers = [reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False), "no idea"]
        for k, answer in enumerate(answers):
            extra = {key: value for key, value in record.items() if key != "messages"}
            event.append({"id": f"{index}-{k}",
                          "messages": [*record["messages"], {"role": "assistant", "content": answer}], **extra})
    return event


@pytest.mark.slow
def test_every_task_scores_in_the_grader_asset_as_it_does_locally(bundled, tmp_path: Path) -> None:
    """The grader's handler, imported from its asset with RFT_TASK set as the template sets it, scores each
    built-in task's samples exactly as the checkout's grader does (and imports only what the asset ships)."""
    from lambda_reward.runtime.grader import grade_batch
    from lambda_reward.runtime.tasks import TASK_ENV, load_task, task_names
    from stacks.config import TASK_DATA_DIRECTORY

    outdir, templates = bundled
    (grader, *_) = [resource for _, _, resource in our_functions(templates)
                    if resource["Properties"]["Handler"].startswith("lambda_reward.")]
    asset = outdir / grader["Metadata"]["aws:asset:path"]
    dependencies, own = asset_top_level(asset)
    code = tmp_path / "code"
    code.mkdir()
    for name in own:
        (code / name).symlink_to(asset / name)
    site_packages = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    environment = {name: placeholder(value) for name, value in grader["Properties"]["Environment"]["Variables"].items()}
    tasks = [name for name in task_names() if (TASK_DATA_DIRECTORY / name).is_dir() and name not in TASKS_CALLING_OUT]
    assert {"char-limit", "exact-match"} <= set(tasks)
    for name in tasks:
        task = load_task(name)
        event = task_event(name)
        job = {"code": str(code), "dependencies": site_packages, "handler": grader["Properties"]["Handler"],
               "event": event}
        run = subprocess.run(
            [sys.executable, "-S", "-B", "-c", PROBE, json.dumps(job)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", **environment,
                 TASK_ENV: task.spec_json()},
        )
        assert run.returncode == 0, f"{name}:\n{run.stderr[-3000:]}"
        found = json.loads(run.stdout.strip().splitlines()[-1])
        assert found["result"] == json.loads(json.dumps(grade_batch(event, task))), name
        assert any(result["aggregate_reward_score"] > 0 for result in found["result"]), name
        foreign = {n for n in found["loaded"] if not is_standard_library(n)} - dependencies - own
        foreign -= LAMBDA_RUNTIME_PROVIDES | JSONSCHEMA_OPTIONAL_IMPORTS | OPTIONAL_WHEN_INSTALLED
        assert not foreign, f"{name} imports what the asset does not ship: {sorted(foreign)}"
