"""The code-tests task: finding the program, reading test cases, the sandbox, scoring a batch.

Runs use small limits (a 1 s wall clock) and are batched into few grade_batch calls, so the file
stays quick. The secrets and attack tests run a grader in a subprocess (as ``nobody`` when the tests
run as root, because root may read any process's /proc entries and ignores RLIMIT_NPROC, as Lambda's
user does not; and so that an attack that got through would kill that grader, not pytest).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.samples import ParsedSample
from lambda_reward.runtime.tasks import (
    Deadline,
    Malformed,
    Score,
    TaskError,
    _sandbox,
    code_tests,
    defaults_of,
    load_task,
    task_names,
)
from lambda_reward.runtime.tasks._sandbox import (
    AARCH64_ONLY_SYSCALLS,
    AARCH64_SYSCALLS,
    AUDIT_ARCH_AARCH64,
    AUDIT_ARCH_X86_64,
    DENIED_FCNTL_COMMANDS,
    DENIED_SYSCALLS,
    DENY,
    NO_SUCH_CALL,
    SECCOMP_RET_ALLOW,
    X32_SYSCALL_BIT,
    X86_64_ONLY_SYSCALLS,
    X86_64_SYSCALLS,
    SeccompFilter,
    Status,
)
from lambda_reward.runtime.tasks.code_tests import (
    OPTIONS,
    Compare,
    Flag,
    Metric,
    code_blocks,
    default_workers,
    extract_code,
    normalise_output,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SUM_TESTS = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"},
             {"input": "0 0", "output": "0"}]
CORRECT = "a, b = map(int, input().split())\nprint(a + b)"


def fenced(code: str, language: str = "python") -> str:
    return f"Here is my solution.\n\n```{language}\n{code}\n```\n"


def raw_sample(sample_id: Any, answer: str, *, tests: Any = SUM_TESTS, where: str = "metadata") -> dict[str, Any]:
    sample: dict[str, Any] = {
        "id": sample_id,
        "messages": [{"role": "user", "content": "Read two integers and print their sum."},
                     {"role": "assistant", "content": answer}],
    }
    if where == "metadata":
        sample["metadata"] = {"test_cases": tests}
    elif where == "top":
        sample["test_cases"] = tests
    elif where == "reference_answer":
        sample["reference_answer"] = {"test_cases": tests}
    return sample


def metrics_of(result: dict[str, Any]) -> dict[str, float]:
    return {metric["name"]: metric["value"] for metric in result["metrics_list"]}


def parsed(answer: str, tests: Any = SUM_TESTS) -> ParsedSample:
    return ParsedSample("s", answer, "", {"test_cases": tests}, {})


@pytest.fixture(scope="module")
def task() -> Any:
    return load_task({"name": "code-tests", "timeoutSeconds": 1.0})


# ---------------------------------------------------------------------------------------
# Finding the program
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (fenced("print(1)"), "print(1)"),
        (fenced("print(1)", "py"), "print(1)"),
        (fenced("print(1)", "Python3"), "print(1)"),
        (fenced("print(1)", "python title=solution.py"), "print(1)"),
        # The last python block wins; a python block wins over a later untagged one (an example's output).
        (fenced("print(1)") + fenced("print(2)"), "print(2)"),
        (fenced("print(1)") + "Output:\n```\n1\n```\n", "print(1)"),
        (fenced("print(1)", "") + fenced("print(2)", ""), "print(2)"),
        # Blocks in another language are never run.
        (fenced("echo 1", "bash") + fenced("print(3)", ""), "print(3)"),
        ("~~~python\nprint(4)\n~~~", "print(4)"),
        ("````python\n```\nprint(5)\n````", "```\nprint(5)"),  # a longer fence holds a shorter one
        ("1. Step\n   ```python\n   if True:\n       print(6)\n   ```", "if True:\n    print(6)"),
        ("```python\r\nprint(7)\r\n```\r\n", "print(7)"),  # CRLF
        ("```python\nprint(8)\n", "print(8)\n"),  # cut off: an unclosed fence runs to the end
        ("```python\n\ufeffprint(9)\n```", "print(9)"),
    ],
)
def test_extract_code(answer: str, code: str) -> None:
    assert extract_code(answer) == code


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "print(1)",  # no fence: by default no program
        "I would write print(1) in ```python print(1)``` but cannot.",  # inline, not a fence
        fenced("   \n\t\n"),  # an empty block
        fenced("1", "text"),  # only another language's block
        fenced("print(1)", "javascript"),
    ],
)
def test_no_program(answer: str) -> None:
    assert extract_code(answer) is None


def test_code_without_fence_option() -> None:
    assert extract_code("print(1)\n", without_fence=True) == "print(1)\n"
    assert extract_code("   ", without_fence=True) is None
    # An answer with fences keeps the fence rules: prose around a text block is not run.
    assert extract_code("Output:\n```text\n1\n```", without_fence=True) is None


_NO_FENCE_TEXT = st.text(alphabet=st.characters(blacklist_characters="`~\r\ufeff", blacklist_categories=("Cs",)))


@settings(max_examples=300, deadline=None)
@given(before=_NO_FENCE_TEXT, code=_NO_FENCE_TEXT, after=_NO_FENCE_TEXT)
def test_a_fenced_program_is_found_exactly(before: str, code: str, after: str) -> None:
    answer = f"{before}\n```python\n{code}\n```\n{after}"
    assert extract_code(answer) == (code if code.strip() else None)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="`~ \n\r\tpythonx3{}")))
def test_extraction_never_raises(answer: str) -> None:
    code = extract_code(answer)
    assert code is None or code.strip()
    assert isinstance(code_blocks(answer), list)
    extract_code(answer, without_fence=True)


# ---------------------------------------------------------------------------------------
# Comparing output
# ---------------------------------------------------------------------------------------


def test_lines_comparison() -> None:
    expected = normalise_output(b"1 2\n3\n", Compare.LINES)
    for same in (b"1 2\n3", b"1 2  \r\n3\t\n\n\n", b"1 2\n3\r\n"):
        assert normalise_output(same, Compare.LINES) == expected
    for different in (b" 1 2\n3\n", b"1 2\n\n3\n", b"1  2\n3\n", b"1 2 3\n"):
        assert normalise_output(different, Compare.LINES) != expected


def test_tokens_and_exact_comparison() -> None:
    assert normalise_output(b"1   2\n\n 3 ", Compare.TOKENS) == normalise_output(b"1 2 3\n", Compare.TOKENS)
    assert normalise_output(b"12 3", Compare.TOKENS) != normalise_output(b"1 23", Compare.TOKENS)
    assert normalise_output(b"5\n", Compare.EXACT) != normalise_output(b"5", Compare.EXACT)


@given(st.binary(), st.sampled_from([Compare.LINES, Compare.TOKENS, Compare.EXACT]))
def test_normalising_is_idempotent(data: bytes, compare: str) -> None:
    once = normalise_output(data, compare)
    assert normalise_output(once, compare) == once


@given(st.lists(st.binary().map(lambda b: b.replace(b"\n", b"")), min_size=1), st.data())
def test_trailing_whitespace_never_matters_to_lines(lines: list[bytes], data: st.DataObject) -> None:
    padded = [line + data.draw(st.sampled_from([b"", b" ", b"\t", b"\r", b"  \r"])) for line in lines]
    tail = data.draw(st.sampled_from([b"", b"\n", b"\n\n", b"\r\n \n"]))
    assert normalise_output(b"\n".join(padded) + tail, Compare.LINES) == normalise_output(b"\n".join(lines),
                                                                                           Compare.LINES)


# ---------------------------------------------------------------------------------------
# Options and loading
# ---------------------------------------------------------------------------------------


def test_loads_by_name_with_valid_defaults() -> None:
    assert "code-tests" in task_names()
    loaded = load_task("code-tests")
    assert dict(loaded.options) == defaults_of(OPTIONS)
    assert loaded.pass_at == 1.0
    assert "test cases" in loaded.description
    assert loaded.grader_timeout_seconds == 300  # a batch of infinite loops takes minutes, not seconds
    assert (loaded.prompt_metric, loaded.answer_metric) == ((Metric.TESTS_TOTAL, "tests"),
                                                            (Metric.TESTS_PASSED, "passed"))


@pytest.mark.parametrize(
    ("options", "named"),
    [({"timeoutSeconds": 0}, "timeoutSeconds"), ({"compare": "fuzzy"}, "compare"),
     ({"memoryMb": 8}, "memoryMb"), ({"workers": -1}, "workers"), ({"failedCodeReward": 0.9}, "failedCodeReward"),
     ({"neutralScore": "median"}, "neutralScore"), ({"neutralScore": 1.5}, "neutralScore"),
     ({"allowWithoutSeccomp": "yes"}, "allowWithoutSeccomp"), ({"sandbox": False}, "sandbox")],
)
def test_invalid_options_name_the_option(options: dict[str, Any], named: str) -> None:
    with pytest.raises(TaskError, match=named):
        load_task({"name": "code-tests", **options})


def test_default_workers_fit_the_lambda_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    cpus = len(os.sched_getaffinity(0))
    assert default_workers(256) == min(64, 2 * cpus)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    assert default_workers(256) == 1  # 512 MB: the grader and one run of 256 MB
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240")
    assert default_workers(256) == min(64, 2 * cpus, (10240 - 128) // 256)
    assert load_task({"name": "code-tests", "workers": 3}).scorer.workers == 3


# ---------------------------------------------------------------------------------------
# Test cases in samples and records
# ---------------------------------------------------------------------------------------


def test_aws_sample_payload_scores_as_aws_expects(task: Any) -> None:
    """The test payload of AWS's Codeforces notebook: test cases in metadata; correct, wrong, no code."""
    event = [
        {"id": "test_correct", "messages": [
            {"role": "user", "content": "Read two integers and print their sum."},
            {"role": "assistant", "content": "```python\na, b = map(int, input().split())\nprint(a + b)\n```"}],
         "metadata": {"test_cases": [{"input": "2 3", "output": "5"}, {"input": "0 0", "output": "0"}]}},
        {"id": "test_wrong", "messages": [
            {"role": "user", "content": "Read two integers and print their sum."},
            {"role": "assistant", "content": "```python\nprint('hello world')\n```"}],
         "metadata": {"test_cases": [{"input": "2 3", "output": "5"}]}},
        {"id": "test_no_code", "messages": [
            {"role": "user", "content": "Read two integers and print their sum."},
            {"role": "assistant", "content": "I'm not sure how to solve this problem."}],
         "metadata": {"test_cases": [{"input": "2 3", "output": "5"}]}},
    ]
    results = grade_batch(event, task)
    assert [result["id"] for result in results] == ["test_correct", "test_wrong", "test_no_code"]
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0, 0.0]
    assert metrics_of(results[0])[Metric.TESTS_PASSED] == 2
    assert metrics_of(results[1])[Metric.WRONG_OUTPUT] == 1
    assert metrics_of(results[2])[Metric.NO_CODE] == 1


def test_where_test_cases_are_read(task: Any) -> None:
    wrong = [{"input": "1 1\n", "output": "3\n"}]
    both = raw_sample(4, fenced(CORRECT), where="top")
    both["metadata"] = {"test_cases": wrong}  # the top level wins
    nested = raw_sample(5, fenced(CORRECT), where="none")
    nested["metadata"] = {"metadata": {"test_cases": SUM_TESTS}}  # a record's own metadata object, wrapped
    in_metadata_reference = raw_sample(6, fenced(CORRECT), where="none")
    in_metadata_reference["metadata"] = {"reference_answer": {"test_cases": SUM_TESTS}}
    results = grade_batch([
        raw_sample(1, fenced(CORRECT), where="metadata"),
        raw_sample(2, fenced(CORRECT), where="top"),
        raw_sample(3, fenced(CORRECT), where="reference_answer"),
        both, nested, in_metadata_reference,
    ], task)
    assert [result["aggregate_reward_score"] for result in results] == [1.0] * 6


@pytest.mark.parametrize(
    ("tests", "reason"),
    [
        (None, "no test_cases"),
        ([], "test_cases is empty"),
        ("2 3 -> 5", "test_cases must be a list"),
        ([{"input": "1"}], r"test_cases\[0\] has no 'output'"),
        ([{"input": "1", "output": "1"}, {"input": 2, "output": "2"}], r"test_cases\[1\]\.input must be a string"),
        ([{"input": "1", "output": "1"}, "x"], r"test_cases\[1\] must be an object"),
        ([{"input": "1", "output": "1"}] * 101, "at most 100"),
    ],
)
def test_invalid_test_cases_make_the_sample_malformed(task: Any, tests: Any, reason: str) -> None:
    scores = task.score_batch([parsed(fenced(CORRECT), tests)], Deadline())
    assert isinstance(scores[0], Malformed)
    assert re.search(reason, scores[0].reason)
    results = grade_batch([raw_sample(0, fenced(CORRECT), tests=tests, where="top")], task)
    assert results[0]["aggregate_reward_score"] == 0.0 and metrics_of(results[0])["malformed"] == 1


def notebook_record(tests: Any) -> dict[str, Any]:
    """A training record as AWS's Codeforces notebook writes it."""
    return {"messages": [{"role": "system", "content": "You are an expert competitive programmer."},
                         {"role": "user", "content": "## Sum\nRead two integers and print their sum."}],
            "metadata": {"test_cases": tests}}


def test_check_record_accepts_valid_records(task: Any) -> None:
    assert task.check_record(notebook_record(SUM_TESTS)) == []
    assert task.check_record({"messages": [], "reference_answer": {"test_cases": SUM_TESTS}}) == []
    assert task.check_record({"messages": [], "test_cases": SUM_TESTS,
                              "reference_answer": {"test_cases": SUM_TESTS}}) == []
    # The example data's shape: the test cases a field, the reference answer a correct program.
    assert task.check_record({"messages": [], "test_cases": SUM_TESTS, "reference_answer": fenced(CORRECT)}) == []


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"messages": []}, "no test_cases"),
        (notebook_record([]), "metadata.test_cases is empty"),
        (notebook_record([{"input": "1", "output": 1}]), r"metadata.test_cases\[0\].output must be a string, got 1"),
        (notebook_record([{"input": "1", "output": "1"}, {"output": "2"}]), r"metadata.test_cases\[1\] has no 'input'"),
        ({"messages": [], "reference_answer": {"test_cases": {"input": "1"}}},
         "reference_answer.test_cases must be a list"),
        ({"messages": [], "test_cases": SUM_TESTS, "reference_answer": {"test_cases": SUM_TESTS[:1]}},
         "reference_answer.test_cases differs from test_cases"),
        (notebook_record([{"input": "1", "output": "1"}, {"input": "2", "output": " \n"}]),
         r"metadata.test_cases\[1\].output is empty"),
        (notebook_record([{"input": "1", "output": "YES"}, {"input": "2", "output": "YES\n"}]),
         "expects the same output"),
        (notebook_record([{"input": "noon\n", "output": "noon"}, {"input": "abba", "output": "abba\n"}]),
         "expects its own input back"),
    ],
)
def test_check_record_names_the_problem(task: Any, record: dict[str, Any], problem: str) -> None:
    problems = task.check_record(record)
    assert any(re.search(problem, found) for found in problems), problems


def test_check_record_caps_what_it_reports(task: Any) -> None:
    problems = task.check_record(notebook_record([{"input": 1, "output": 2}] * 30))
    assert len(problems) == 2 * code_tests.MAX_PROBLEMS_PER_FIELD + 1
    assert "25 more invalid test cases" in problems[-1]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["input", "output", "test_cases", "metadata", "reference_answer", "x"]), children,
        max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["test_cases", "metadata", "reference_answer", "messages"]), _JSON))
def test_check_record_never_raises(record: dict[str, Any]) -> None:
    problems = code_tests.configure(defaults_of(OPTIONS)).check_record(record)
    assert all(isinstance(problem, str) and problem for problem in problems)


# ---------------------------------------------------------------------------------------
# Running programs
# ---------------------------------------------------------------------------------------


def test_a_batch_of_good_and_bad_programs(tmp_path: Path) -> None:
    """One batch, every kind of program: each scores on its own, the infinite loop costs only itself."""
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0, "memoryMb": 128, "maxOutputBytes": 4096})
    big_input = [{"input": "x" * 2_000_000 + "\n", "output": "2000000\n"}, {"input": "ab\n", "output": "2\n"}]
    answers = {
        "correct": fenced(CORRECT),
        "trailing_whitespace": fenced("a, b = map(int, input().split())\nprint(a + b, end='  \\r\\n\\n')"),
        "exit_builtin": fenced("a, b = map(int, input().split())\nprint(a + b)\nexit()"),
        "half_right": fenced("a, b = map(int, input().split())\nprint(a + b if a < 5 else 0)"),
        "wrong": fenced("print(5)"),
        "exception": fenced("raise ValueError('no')"),
        "syntax_error": fenced("print(1"),
        "right_then_nonzero_exit": fenced(CORRECT + "\nimport sys\nsys.exit(3)"),
        "infinite_loop": fenced("while True:\n    pass"),
        "output_flood": fenced("while True:\n    print('x' * 1000)"),
        "memory_hog": fenced("block = bytearray(10 ** 9)\nprint(5)"),
        "stdin_flood_read": fenced("import sys\nprint(len(sys.stdin.readline().rstrip()))"),
        "stdin_flood_ignored": fenced("import sys\nprint(len(sys.stdin.read(2)))"),
        "no_code": "The sum is a + b.",
        "code_in_reasoning_only": "<think>```python\n" + CORRECT + "\n```</think>The answer is the sum.",
    }
    samples = [raw_sample(name, answer, tests=big_input if name.startswith("stdin") else SUM_TESTS)
               for name, answer in answers.items()]
    results = {result["id"]: result for result in grade_batch(samples, task)}
    rewards = {name: result["aggregate_reward_score"] for name, result in results.items()}
    assert rewards == {
        "correct": 1.0, "trailing_whitespace": 1.0, "exit_builtin": 1.0, "half_right": pytest.approx(2 / 3),
        "wrong": pytest.approx(1 / 3), "exception": 0.0, "syntax_error": 0.0, "right_then_nonzero_exit": 0.0,
        "infinite_loop": 0.0, "output_flood": 0.0, "memory_hog": 0.0, "stdin_flood_read": 1.0,
        "stdin_flood_ignored": 0.5, "no_code": 0.0, "code_in_reasoning_only": 0.0,
    }
    assert metrics_of(results["infinite_loop"])[Metric.TIMED_OUT] == 3
    assert metrics_of(results["output_flood"])[Metric.OUTPUT_LIMIT] == 3
    assert metrics_of(results["memory_hog"])[Metric.CRASHED] == 3
    assert metrics_of(results["syntax_error"])[Metric.CRASHED] == 3
    assert metrics_of(results["right_then_nonzero_exit"])[Metric.CRASHED] == 3
    assert metrics_of(results["wrong"])[Metric.WRONG_OUTPUT] == 2
    assert metrics_of(results["code_in_reasoning_only"])[Metric.NO_CODE] == 1
    assert metrics_of(results["correct"])["passed"] == 1.0
    assert all("flagged" not in metrics_of(result) for result in results.values())


def test_failed_code_reward_option() -> None:
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0, "failedCodeReward": 0.1})
    results = grade_batch([raw_sample(0, fenced("print(-1)")), raw_sample(1, "no code"),
                           raw_sample(2, fenced("print(5)"))], task)
    assert [result["aggregate_reward_score"] for result in results] == [0.1, 0.0, pytest.approx(1 / 3)]


def test_the_program_sees_no_credentials_and_an_empty_directory(task: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN")
    # Python's own C.UTF-8 locale coercion (PEP 538) is all it sees; LD_LIBRARY_PATH too only where the
    # interpreter cannot start without it (not on a usual build).
    env = _sandbox.probe_sandbox(task.scorer.limits, task.scorer.bootstrap, seccomp=True).env
    assert env is not None
    seen = str(sorted({"LC_CTYPE", *env}))
    program = "import os\nprint(sorted(os.environ))\nprint(os.listdir('.'))\nprint(os.getcwd())"
    results = grade_batch([raw_sample(0, fenced("import os\nprint(sorted(os.environ))"),
                                      tests=[{"input": "", "output": seen}])], task)
    assert results[0]["aggregate_reward_score"] == 1.0
    # Run directly, to see the directory it had (and that it is gone).
    run = _sandbox.run_python(program.encode(), b"", task.scorer.limits, task.scorer.bootstrap, env=env)
    listed_environment, listed_directory, workdir = run.stdout.decode().splitlines()
    assert (listed_environment, listed_directory) == (seen, "[]")
    assert Path(workdir).name.startswith("code-tests-") and workdir != os.getcwd()
    assert not Path(workdir).exists()


def test_a_sandbox_that_cannot_start_programs_flags_every_sample(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Checked once per process by a trivial run: a broken interpreter never passes for a batch of wrong answers,
    and never costs a sample its reward either (the neutral one: its prompt's mean, else 0.5)."""
    monkeypatch.setattr(_sandbox, "_probes", {})
    monkeypatch.setattr(_sandbox.sys, "executable", "/bin/false")
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0})
    other_prompt = raw_sample(2, fenced(CORRECT))
    other_prompt["messages"][0]["content"] = "Another problem."
    with caplog.at_level(logging.ERROR, logger=code_tests.__name__):
        results = grade_batch([raw_sample(0, fenced(CORRECT)), raw_sample(1, "no code"), other_prompt], task)
    assert metrics_of(results[0])[Flag.SANDBOX_ERROR] == 1 and metrics_of(results[0])["flagged"] == 1
    assert metrics_of(results[0])[Metric.NOT_RUN] == len(SUM_TESTS)
    assert "flagged" not in metrics_of(results[1])  # nothing to run: a genuine 0
    assert results[0]["aggregate_reward_score"] == 0.0  # the mean of its prompt's scored samples (the no-code one)
    assert results[2]["aggregate_reward_score"] == 0.5  # no scored sample of its prompt
    assert "a trivial program does not run in the sandbox (exit status 1)" in caplog.text


def test_the_loader_path_is_passed_only_when_the_interpreter_needs_it(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """A Python built with a shared libpython and no RPATH (as Lambda's may be) starts only with
    LD_LIBRARY_PATH: the child then gets that one variable, and still no credentials."""
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\n[ -n "$LD_LIBRARY_PATH" ] || exit 127\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(_sandbox, "_probes", {})
    monkeypatch.setattr(_sandbox.sys, "executable", str(wrapper))
    monkeypatch.setenv("LD_LIBRARY_PATH", "/var/lang/lib")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0})
    program = "import os\nprint(os.environ.get('LD_LIBRARY_PATH'), [name for name in os.environ if 'AWS' in name])"
    results = grade_batch([raw_sample(0, fenced(program), tests=[{"input": "", "output": "/var/lang/lib []"}])], task)
    assert results[0]["aggregate_reward_score"] == 1.0


def test_identical_programs_run_once_per_input(task: Any, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    program = f"open({str(log)!r}, 'a').write('run\\n')\n{CORRECT}"
    other = f"open({str(log)!r}, 'a').write('other\\n')\n{CORRECT}"
    samples = [raw_sample(i, f"Attempt {i}:\n" + fenced(program)) for i in range(4)] + [raw_sample(9, fenced(other))]
    results = grade_batch(samples, task)
    assert [result["aggregate_reward_score"] for result in results] == [1.0] * 5
    assert log.read_text().splitlines().count("run") == len(SUM_TESTS)
    assert log.read_text().splitlines().count("other") == len(SUM_TESTS)


def test_the_deadline_is_never_overrun(tmp_path: Path) -> None:
    task = load_task({"name": "code-tests", "timeoutSeconds": 10.0, "workers": 6})  # every run at once
    marker = tmp_path / "ran"
    scores = task.score_batch([parsed(fenced(f"open({str(marker)!r}, 'w')\n{CORRECT}"))], Deadline(0.0))
    assert isinstance(scores[0], Score) and scores[0].flag == Flag.DEADLINE
    assert scores[0].reward == 0.5 and scores[0].metrics[Metric.NOT_RUN] == len(SUM_TESTS)  # neutral, not 0.0
    assert scores[0].passed is False
    assert not marker.exists()  # nothing was started

    start = time.monotonic()
    scores = task.score_batch([parsed(fenced("while True:\n    pass")), parsed(fenced(CORRECT))], Deadline(1.0))
    elapsed = time.monotonic() - start
    loop, correct = scores
    assert isinstance(loop, Score) and loop.flag == Flag.DEADLINE and loop.metrics[Metric.TIMED_OUT] == 0
    assert isinstance(correct, Score) and correct.reward == 1.0 and correct.flag is None  # all its tests ran
    # Every test of the loop was cut by the deadline, none failed on its own time: the prompt's mean (no
    # advantage in the group) rather than a 0 the clock caused.
    assert loop.reward == 1.0 and loop.passed is False
    assert elapsed < 1.0 + 1.0  # ten seconds of timeout, cut to what the invocation had left


def test_the_process_group_is_killed(task: Any, tmp_path: Path) -> None:
    """A descendant left behind (possible only without the filter where RLIMIT_NPROC does not bind, e.g. as
    root) dies with the group when the program exits."""
    marker = tmp_path / "survived"
    program = textwrap.dedent(f"""\
        import os, time
        try:
            pid = os.fork()
        except OSError:
            pid = 1
        if pid == 0:
            time.sleep(0.2)
            open({str(marker)!r}, "w").write("alive")
            os._exit(0)
        print(5)
    """)
    results = grade_batch([raw_sample(0, fenced(program), tests=[{"input": "", "output": "5"}])], task)
    assert results[0]["aggregate_reward_score"] == 1.0
    time.sleep(0.6)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------
# What a program cannot reach, checked as Lambda's non-root user
# ---------------------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
_INNER = textwrap.dedent("""\
    import json, os, subprocess, sys
    from lambda_reward.runtime.samples import ParsedSample
    from lambda_reward.runtime.tasks.code_tests import configure, OPTIONS
    from lambda_reward.runtime.tasks import defaults_of

    SNOOP = '''
    import os
    found = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
        try:
            with open(f"/proc/{pid}/environ", "rb") as file:
                if b"AWS_SECRET_ACCESS_KEY=" in file.read():
                    found.append(pid)
        except OSError:
            pass
    print("leak" if found else "clean")
    '''
    # Control: before the grader hardens itself, a plain child of it can read its environ.
    control = subprocess.run([sys.executable, "-c", SNOOP], capture_output=True, text=True, env={}).stdout.strip()

    PROBES = {
        "proc_environ": (SNOOP, "clean"),
        "fork": ("import os\\ntry:\\n    os.fork()\\n    print('forked')\\nexcept OSError:\\n    print('blocked')",
                 "blocked"),
        # Threads run (the filter allows clone with CLONE_THREAD only; RLIMIT_NPROC is not 0 under it).
        "thread": ("import threading\\ntry:\\n    t = threading.Thread(target=int)\\n    t.start()\\n"
                   "    t.join()\\n    print('started')\\nexcept RuntimeError:\\n    print('blocked')", "started"),
        "subprocess": ("import subprocess\\ntry:\\n    subprocess.run(['/bin/true'])\\n    print('ran')\\n"
                       "except OSError:\\n    print('blocked')", "blocked"),
        # Non-dumpable: the kernel gives the process's /proc entries to root.
        "dumpable": ("import os\\nprint(os.stat(f'/proc/{os.getpid()}/environ').st_uid)", "0"),
        "parent_fds": ("import os\\ntry:\\n    print(os.listdir(f'/proc/{os.getppid()}/fd'))\\n"
                       "except OSError:\\n    print('denied')", "denied"),
    }
    options = {**defaults_of(OPTIONS), "timeoutSeconds": 2.0}
    scorer = configure(options)
    samples = [ParsedSample(name, "```python\\n" + code + "\\n```", "",
                            {"test_cases": [{"input": "", "output": out}]}, {})
               for name, (code, out) in PROBES.items()]
    scores = scorer.score_batch(samples)
    print(json.dumps({"control": control, "uid": os.getuid(),
                      **{name: score.metrics["tests_passed"] == 1 for name, score in zip(PROBES, scores)}}))
""")


def run_as_lambda_user(script: str, **extra_env: str) -> dict[str, Any]:
    """Run ``script`` (a grader that prints a JSON report) as a non-root user, as Lambda's is (nobody when the
    tests run as root); its report."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", **extra_env}
    kwargs: dict[str, Any] = {}
    python = sys.executable
    if os.geteuid() == 0:
        # As root every /proc entry is readable and RLIMIT_NPROC is ignored: run the grader as nobody with a
        # Python nobody can execute (this venv's may live under /root).
        python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or ""
        probe = subprocess.run([python, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                               capture_output=True, text=True, user=65534, group=65534, extra_groups=[],
                               check=False) if python else None
        if probe is None or probe.stdout.strip() != "True":
            pytest.skip("running as root and no Python 3.11+ that user nobody can execute")
        kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
    try:
        completed = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env, cwd="/",
                                   timeout=60, check=False, **kwargs)
    except subprocess.TimeoutExpired as error:  # a grader stopped (SIGSTOP) or frozen by a program
        raise AssertionError(f"the grader did not finish: {error.stderr!r}") from error
    assert completed.returncode == 0, f"the grader died ({completed.returncode}): {completed.stderr}"
    report: dict[str, Any] = json.loads(completed.stdout)
    assert report.pop("uid") != 0
    return report


def test_a_program_cannot_reach_credentials_processes_or_other_programs() -> None:
    report = run_as_lambda_user(_INNER)
    assert report["control"] == "leak"  # the threat is real here: an unhardened grader's environ is readable
    assert {name: passed for name, passed in report.items() if name != "control"} == {
        "proc_environ": True, "fork": True, "thread": True, "subprocess": True, "dumpable": True,
        "parent_fds": True,
    }


# ---------------------------------------------------------------------------------------
# The seccomp filter
# ---------------------------------------------------------------------------------------


def _seccomp_available() -> bool:
    try:
        with open("/proc/self/status") as status:
            return any(line.startswith("Seccomp:") for line in status)
    except OSError:
        return False


needs_seccomp = pytest.mark.skipif(not sys.platform.startswith("linux") or not _seccomp_available(),
                                   reason="needs Linux with seccomp (a Seccomp field in /proc/self/status)")
on_x86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 system calls")

# The kernel's uapi headers, generated from syscall_64.tbl (x86_64) and asm-generic/unistd.h (aarch64's numbers).
_HEADERS = {
    "x86_64": ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
    "aarch64": ["/usr/include/asm-generic/unistd.h"],
}


@pytest.mark.parametrize(("architecture", "table"), [
    ("x86_64", X86_64_SYSCALLS), ("aarch64", AARCH64_SYSCALLS),
    ("x86_64", X86_64_ONLY_SYSCALLS), ("aarch64", {**AARCH64_ONLY_SYSCALLS, "clone": 220}),
])
def test_syscall_tables_match_the_kernel_headers(architecture: str, table: dict[str, int]) -> None:
    header = next((Path(path) for path in _HEADERS[architecture] if Path(path).exists()), None)
    if header is None:
        pytest.skip(f"no {architecture} kernel header installed")
    numbers = {name: int(number) for name, number in
               re.findall(r"^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$", header.read_text(), flags=re.MULTILINE)}
    assert {name: numbers.get(name) for name in table} == dict(table)


def test_both_tables_name_the_same_calls() -> None:
    assert X86_64_SYSCALLS.keys() == AARCH64_SYSCALLS.keys()
    assert not (X86_64_ONLY_SYSCALLS.keys() | AARCH64_ONLY_SYSCALLS.keys()) & X86_64_SYSCALLS.keys()
    assert not set(X86_64_ONLY_SYSCALLS.values()) & set(X86_64_SYSCALLS.values())
    assert len(set(X86_64_SYSCALLS.values())) == len(X86_64_SYSCALLS)
    assert len(set(AARCH64_SYSCALLS.values())) == len(AARCH64_SYSCALLS)


def run_filter(program: bytes, arch: int, nr: int, args: tuple[int, ...]) -> int:
    """Run a classic BPF seccomp program (the opcodes the filter uses) on one seccomp_data; its return value."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *args)
    count = len(program) // 8
    accumulator = position = 0
    for _ in range(count):
        code, true, false, k = struct.unpack_from("=HBBI", program, 8 * position)
        if code == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            accumulator = struct.unpack_from("=I", data, k)[0]
            position += 1
        elif code == 0x15:  # BPF_JMP | BPF_JEQ | BPF_K
            position += 1 + (true if accumulator == k else false)
        elif code == 0x35:  # BPF_JMP | BPF_JGE | BPF_K
            position += 1 + (true if accumulator >= k else false)
        elif code == 0x45:  # BPF_JMP | BPF_JSET | BPF_K
            position += 1 + (true if accumulator & k else false)
        elif code == 0x06:  # BPF_RET | BPF_K
            return int(k)
        else:
            raise AssertionError(f"opcode {code:#x} at {position}")
        assert position < count, "jumped out of the program"
    raise AssertionError("no return")


CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET


def expected_verdict(arch: int, nr: int, args: tuple[int, ...], pid: int) -> int:
    table = {AUDIT_ARCH_X86_64: X86_64_SYSCALLS, AUDIT_ARCH_AARCH64: AARCH64_SYSCALLS}.get(arch)
    if table is None:
        return DENY
    only = {AUDIT_ARCH_X86_64: X86_64_ONLY_SYSCALLS, AUDIT_ARCH_AARCH64: AARCH64_ONLY_SYSCALLS}[arch]
    number = nr & 0xFFFFFFFF
    if arch == AUDIT_ARCH_X86_64 and number >= X32_SYSCALL_BIT:
        return DENY
    if number == table["fcntl"]:
        return DENY if args[1] & 0xFFFFFFFF in DENIED_FCNTL_COMMANDS else SECCOMP_RET_ALLOW
    if number == table["prlimit64"]:
        return SECCOMP_RET_ALLOW if args[0] >> 32 == 0 and args[0] & 0xFFFFFFFF in (0, pid) else DENY
    if number == table["clone"]:  # a thread only: the kernel reads the low 32 bits of the flags
        flags = args[0] & 0xFFFFFFFF
        return SECCOMP_RET_ALLOW if flags & CLONE_THREAD and not flags & CLONE_NAMESPACES else DENY
    if number == table["clone3"]:
        return NO_SUCH_CALL
    return DENY if number in {*(table[name] for name in DENIED_SYSCALLS), *only.values()} else SECCOMP_RET_ALLOW


PID = 4242
FILTER = _sandbox.seccomp_filter().with_pid(PID)
_ARCHES = st.sampled_from([AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64, 0x40000003, 0x4000003E, 0xC0000028, 0])
_NUMBERS = st.one_of(st.sampled_from(sorted({*X86_64_SYSCALLS.values(), *AARCH64_SYSCALLS.values(),
                                              *X86_64_ONLY_SYSCALLS.values(), *AARCH64_ONLY_SYSCALLS.values()})),
                     st.integers(-2**31, 2**31 - 1), st.integers(0, 500),
                     st.integers(0, 500).map(lambda n: n | X32_SYSCALL_BIT))
_ARGUMENT = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, PID, PID + 1, 1, 2**32, 2**32 + PID,
                                                                  *DENIED_FCNTL_COMMANDS, 3, 4, 2**32 + 8,
                                                                  # clone flags: glibc's thread, fork, vfork
                                                                  0x3D0F00, 0x1200011, 0x4111, CLONE_THREAD,
                                                                  2**32 | CLONE_THREAD, 2**32 | 0x11,
                                                                  0x3D0F00 | 0x40000000, 0x3D0F00 | 0x20000]))


@settings(max_examples=2000, deadline=None)
@given(_ARCHES, _NUMBERS, st.tuples(*[_ARGUMENT] * 6))
def test_the_filter_denies_exactly_the_tables(arch: int, nr: int, args: tuple[int, ...]) -> None:
    assert run_filter(FILTER, arch, nr, args) == expected_verdict(arch, nr, args, PID)


@pytest.mark.parametrize(
    ("arch", "nr", "args", "verdict"),
    [
        (AUDIT_ARCH_X86_64, 62, (), DENY),  # kill
        (AUDIT_ARCH_AARCH64, 129, (), DENY),  # kill
        (AUDIT_ARCH_AARCH64, 62, (), SECCOMP_RET_ALLOW),  # lseek on aarch64
        (AUDIT_ARCH_X86_64, 0, (), SECCOMP_RET_ALLOW),  # read
        (AUDIT_ARCH_AARCH64, 63, (), SECCOMP_RET_ALLOW),  # read
        (AUDIT_ARCH_X86_64, 41, (), DENY),  # socket
        (AUDIT_ARCH_AARCH64, 198, (), DENY),  # socket
        (AUDIT_ARCH_X86_64, 198, (), SECCOMP_RET_ALLOW),  # lremovexattr on x86_64
        (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 41, (), DENY),  # x32 socket
        (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 0, (), DENY),  # x32 read: no x32 at all
        (0x40000003, 20, (), DENY),  # i386 getpid (int 0x80)
        (AUDIT_ARCH_X86_64, 72, (1, 3), SECCOMP_RET_ALLOW),  # fcntl(1, F_GETFL)
        (AUDIT_ARCH_X86_64, 72, (1, 8, 1), DENY),  # fcntl(1, F_SETOWN, 1)
        (AUDIT_ARCH_AARCH64, 25, (1, 10, 9), DENY),  # fcntl(1, F_SETSIG, SIGKILL)
        (AUDIT_ARCH_X86_64, 302, (0, 7), SECCOMP_RET_ALLOW),  # prlimit64(0, RLIMIT_NOFILE): itself
        (AUDIT_ARCH_AARCH64, 261, (PID, 7), SECCOMP_RET_ALLOW),  # its own pid
        (AUDIT_ARCH_X86_64, 302, (PID + 1, 0), DENY),  # another process (the grader)
        (AUDIT_ARCH_X86_64, 302, (2**32, 0), DENY),
        # glibc's pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        (AUDIT_ARCH_X86_64, 56, (0x3D0F00,), SECCOMP_RET_ALLOW),
        (AUDIT_ARCH_AARCH64, 220, (0x3D0F00,), SECCOMP_RET_ALLOW),
        (AUDIT_ARCH_X86_64, 56, (0x1200011,), DENY),  # glibc's fork: CHILD_SETTID|CHILD_CLEARTID|SIGCHLD
        (AUDIT_ARCH_AARCH64, 220, (0x1200011,), DENY),
        (AUDIT_ARCH_AARCH64, 220, (0x4111,), DENY),  # vfork, posix_spawn: CLONE_VM|CLONE_VFORK|SIGCHLD
        (AUDIT_ARCH_X86_64, 56, (2**32 | 0x11,), DENY),  # CLONE_THREAD's bit in the high half: not a thread
        (AUDIT_ARCH_X86_64, 56, (0x3D0F00 | 0x40000000,), DENY),  # a thread in a new network namespace
        (AUDIT_ARCH_X86_64, 435, (), NO_SUCH_CALL),  # clone3: glibc falls back to clone
        (AUDIT_ARCH_AARCH64, 435, (), NO_SUCH_CALL),
        (AUDIT_ARCH_X86_64, 57, (), DENY),  # fork
        (AUDIT_ARCH_X86_64, 58, (), DENY),  # vfork
        (AUDIT_ARCH_AARCH64, 57, (), SECCOMP_RET_ALLOW),  # close on aarch64
        (AUDIT_ARCH_AARCH64, 56, (), SECCOMP_RET_ALLOW),  # openat on aarch64
    ],
)
def test_filter_examples(arch: int, nr: int, args: tuple[int, ...], verdict: int) -> None:
    assert run_filter(FILTER, arch, nr, (*args, *[0] * (6 - len(args)))) == verdict


CTYPES = textwrap.dedent("""\
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    def check(result):
        if result == -1 and ctypes.get_errno() == 1:
            raise PermissionError(1, "refused")
        return result
""")
# i386 getpid through int 0x80 from a 64-bit process: mov eax, 20; int 0x80; ret.
INT80 = CTYPES + textwrap.dedent("""\
    import mmap
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))
    result = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()
    if result == -1:
        raise PermissionError(1, "refused")
""")


def attack_programs(port: str, unix_path: str, *, everyone: bool) -> dict[str, str]:
    """Programs that would kill, stop or starve the grader, or reach the network; each prints denied when
    refused (PermissionError, or a module the guards keep out), else what happened."""
    attacks = {
        "kill_parent": "os.kill(os.getppid(), signal.SIGKILL)",
        "stop_parent": "os.kill(os.getppid(), signal.SIGSTOP)",
        "killpg_parent": "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
        "pidfd_kill_parent": "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)",
        "tcp_to_the_grader": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
        "runtime_api": "import socket\nsocket.create_connection(('127.0.0.1', 9001), timeout=1)",
        "unix_socket": f"import socket\nsocket.socket(socket.AF_UNIX).connect('{unix_path}')",
        "socketpair": "import socket\nsocket.socketpair()",
        "ptrace_parent": CTYPES + "check(libc.ptrace(16, os.getppid(), 0, 0))",  # PTRACE_ATTACH
        "prlimit_parent": "import resource\nresource.prlimit(os.getppid(), resource.RLIMIT_CPU, (1, 1))",
        "setown_parent": "import fcntl\nfcntl.fcntl(1, fcntl.F_SETOWN, os.getppid())",
        "renice_parent": "os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)",
        "unshare_user": CTYPES + "check(libc.unshare(0x10000000))",  # CLONE_NEWUSER
        "io_uring": CTYPES + "check(libc.syscall(425, 8, ctypes.create_string_buffer(120)))",  # same nr on both
        # exec keeps the filter: the shell's kill is refused as well.
        "exec_shell_kill": "os.execv('/bin/sh', ['sh', '-c', "
                           "'kill -KILL $PPID 2>/dev/null && echo done || echo denied'])",
        # Threads are allowed, new processes are not (the filter's clone rule; RLIMIT_NPROC is not 0 under it).
        "fork": "if os.fork() == 0:\n    os._exit(0)",
        "subprocess": "import subprocess\nsubprocess.run(['true'])",
        "posix_spawn": "os.posix_spawn('/bin/true', ['true'], {})",
        "multiprocessing": "import multiprocessing\nprocess = multiprocessing.Process(target=print)\n"
                           "process.start()\nprocess.join()",
        "raw_fork_clone": CTYPES + "check(libc.syscall(56 if os.uname().machine == 'x86_64' else 220, 17, 0, 0, 0, 0))",
    }
    if everyone:  # only as a user of its own (nobody): kill(-1) reaches every process of the user
        attacks["kill_everyone"] = "os.kill(-1, signal.SIGKILL)"
    if platform.machine() == "x86_64":
        attacks["x32_socket"] = CTYPES + "check(libc.syscall(0x40000000 | 41, 2, 1, 0))"
        attacks["i386_int80"] = INT80
    return {name: "import os, signal, sys\ntry:\n" + textwrap.indent(code, "    ") + "\n    print('done')\n"
            "except (PermissionError, ImportError):\n    print('denied')\n"
            "except OSError as error:\n    print('errno', error.errno)\n" for name, code in attacks.items()}


_ATTACKS = textwrap.dedent("""\
    import json, os, socket, sys, tempfile
    from lambda_reward.runtime.samples import ParsedSample
    from lambda_reward.runtime.tasks import _sandbox, defaults_of
    from lambda_reward.runtime.tasks.code_tests import OPTIONS, configure

    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    tcp.setblocking(False)
    unix_path = os.path.join(tempfile.mkdtemp(), "grader.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen(16)
    unix.setblocking(False)

    def untouched(listener):
        try:
            listener.accept()[0].close()
            return False
        except BlockingIOError:
            return True

    programs = json.loads(os.environ["PROGRAMS"])
    attacks = {name: code.replace("__PORT__", str(tcp.getsockname()[1])).replace("__UNIX__", unix_path)
               for name, code in programs["attacks"].items()}
    samples = [ParsedSample(name, "```python\\n" + code + "\\n```", "attack",
                            {"test_cases": [{"input": "", "output": "denied"}]}, {})
               for name, code in attacks.items()]
    samples += [ParsedSample(name, "```python\\n" + code + "\\n```", "normal",
                             {"test_cases": [{"input": given, "output": wanted}]}, {})
                for name, (code, given, wanted) in programs["normal"].items()]
    report = {"uid": os.getuid()}
    for layers, bootstrap in (("both", None), ("seccomp_only", dict(guards=False))):
        scorer = configure({**defaults_of(OPTIONS), "timeoutSeconds": 2.0})
        if bootstrap is not None:
            scorer.bootstrap = _sandbox.bootstrap_source(scorer.limits, **bootstrap)
        scores = scorer.score_batch(samples)
        report[layers] = {sample.sample_id: score.metrics["tests_passed"] == 1 and score.flag is None
                          for sample, score in zip(samples, scores)}
        report[layers + "_untouched"] = untouched(tcp) and untouched(unix)
    # Control, neither layer (harmless probes): the grader is reachable by signal and socket without them.
    bare = _sandbox.bootstrap_source(scorer.limits, seccomp=False, guards=False)
    probes = {"signal": "import os\\nos.kill(os.getppid(), 0)\\nprint('reachable')",
              "tcp": f"import socket\\nsocket.create_connection(('127.0.0.1', {tcp.getsockname()[1]}))\\n"
                     "print('reachable')",
              "prlimit": "import os, resource\\nresource.prlimit(os.getppid(), resource.RLIMIT_NOFILE)\\n"
                         "print('reachable')"}
    report["control"] = {name: _sandbox.run_python(code.encode(), b"", scorer.limits, bare).stdout.decode()
                         for name, code in probes.items()}
    report["control_connected"] = not untouched(tcp)
    print(json.dumps(report))
""")

# Ordinary programs: each must pass under the filter and the guards (the library's usual system calls).
NORMAL_PROGRAMS: dict[str, tuple[str, str, str]] = {
    "sum": (CORRECT, "2 3\n", "5"),
    "read_all": ("import sys\ndata = sys.stdin.read().split()\nprint(len(data), sum(map(int, data)))",
                 "1 2\n3\n4 5 6\n", "6 21"),
    "recursion": ("import sys\nsys.setrecursionlimit(20000)\ndef depth(n):\n"
                  "    return 0 if n == 0 else 1 + depth(n - 1)\nprint(depth(int(input())))", "5000\n", "5000"),
    "big_sort": ("import random\nrandom.seed(1)\nxs = [random.randrange(10**9) for _ in range(200000)]\n"
                 "xs.sort()\nprint(all(a <= b for a, b in zip(xs, xs[1:])), len(xs))", "", "True 200000"),
    "imports": ("import json, collections, itertools, heapq, bisect, re, functools, math, fractions, decimal\n"
                "import statistics, string, typing, dataclasses, array, copy, datetime, time, operator, enum, io\n"
                "h = [5, 1, 3]\nheapq.heapify(h)\n"
                "print(json.dumps(collections.Counter('aab')), list(itertools.accumulate([1, 2])), heapq.heappop(h),\n"
                "      bisect.bisect([1, 3], 2), re.sub('a', 'b', 'aa'), functools.reduce(max, [1, 4, 2]),\n"
                "      math.comb(10, 3), fractions.Fraction(1, 3) * 3, decimal.Decimal('1.10') + 1)",
                "", '{"a": 2, "b": 1} [1, 3] 1 1 bb 4 120 1 2.10'),
    "own_limits": ("import os, resource\n"
                   "resource.setrlimit(resource.RLIMIT_STACK, resource.getrlimit(resource.RLIMIT_STACK))\n"
                   "print(resource.prlimit(0, resource.RLIMIT_NOFILE) == resource.prlimit(os.getpid(), "
                   "resource.RLIMIT_NOFILE))", "", "True"),
    # The competitive-programming idiom for deep recursion: a thread with a big stack.
    "deep_recursion_thread": ("import sys, threading\nthreading.stack_size(1 << 27)\nsys.setrecursionlimit(10**6)\n"
                              "def main():\n    def depth(n):\n        return 0 if n == 0 else 1 + depth(n - 1)\n"
                              "    print(depth(int(input())))\n"
                              "thread = threading.Thread(target=main)\nthread.start()\nthread.join()",
                              "100000\n", "100000"),
    "thread_pool": ("from concurrent.futures import ThreadPoolExecutor\nwith ThreadPoolExecutor(4) as pool:\n"
                    "    print(sum(pool.map(lambda x: x * x, range(1000))))", "", "332833500"),
    "files_and_time": ("import os, time\nopen('scratch', 'w').write('x')\nprint(open('scratch').read(), "
                       "time.monotonic() > 0, os.getpid() > 0, len(os.urandom(4)))", "", "x True True 4"),
}


@needs_seccomp
def test_programs_cannot_kill_stop_or_starve_the_grader_nor_reach_the_network() -> None:
    """Each attack is refused, by the filter alone as well as with the guards, as Lambda's non-root user; the
    grader survives to score the batch's other programs, and nothing reaches its sockets."""
    # kill(-1) reaches every process of the user: tried only where the grader runs as a user of its own (nobody).
    attacks = attack_programs("__PORT__", "__UNIX__", everyone=os.geteuid() == 0)
    report = run_as_lambda_user(_ATTACKS, PROGRAMS=json.dumps({"attacks": attacks, "normal": NORMAL_PROGRAMS}))
    names = set(attacks) | set(NORMAL_PROGRAMS)
    for layers in ("both", "seccomp_only"):
        assert report[layers] == dict.fromkeys(names, True), layers
        assert report[layers + "_untouched"], layers
    # The threat is real without them: the same user may signal the grader and connect to it.
    assert report["control"] == {"signal": "reachable\n", "tcp": "reachable\n", "prlimit": "reachable\n"}
    assert report["control_connected"]


@needs_seccomp
def test_ordinary_programs_run_under_the_filter(task: Any) -> None:
    probe = _sandbox.probe_sandbox(task.scorer.limits, task.scorer.bootstrap, seccomp=True)
    assert probe.env is not None and probe.filtered
    samples = [raw_sample(name, fenced(code), tests=[{"input": given, "output": wanted}])
               for name, (code, given, wanted) in NORMAL_PROGRAMS.items()]
    results = grade_batch(samples, task)
    assert {result["id"]: result["aggregate_reward_score"] for result in results} == dict.fromkeys(NORMAL_PROGRAMS,
                                                                                                  1.0)
    status = grade_batch([raw_sample("mode", fenced(
        "print(open('/proc/self/status').read().split('Seccomp:')[1].split()[0])"), tests=[
        {"input": "", "output": "2"}])], task)
    assert status[0]["aggregate_reward_score"] == 1.0  # the program itself runs filtered


@needs_seccomp
def test_no_seccomp_flags_every_sample_unless_allowed(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Where the filter cannot be installed (here: an empty program, which the kernel refuses with EINVAL, as
    a kernel without seccomp refuses any), no program runs unprotected: each is flagged sandbox_error with the
    neutral reward and the log says why; allowWithoutSeccomp runs them with the guards alone, and says so."""
    monkeypatch.setattr(_sandbox, "_probes", {})
    monkeypatch.setattr(_sandbox, "seccomp_filter", lambda: SeccompFilter(b"", ()))
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0})
    batch = [raw_sample(0, fenced(CORRECT)), raw_sample(1, fenced("print(5)"))]
    with caplog.at_level(logging.WARNING, logger=code_tests.__name__):
        results = grade_batch(batch, task)
    assert [metrics_of(result).get(Flag.SANDBOX_ERROR) for result in results] == [1, 1]
    assert [result["aggregate_reward_score"] for result in results] == [0.5, 0.5]
    assert "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): Invalid argument (EINVAL)" in caplog.text
    assert "allowWithoutSeccomp" in caplog.text

    caplog.clear()
    allowed = load_task({"name": "code-tests", "timeoutSeconds": 1.0, "allowWithoutSeccomp": True})
    with caplog.at_level(logging.WARNING, logger=code_tests.__name__):
        results = grade_batch(batch, allowed)
    assert [result["aggregate_reward_score"] for result in results] == [1.0, pytest.approx(1 / 3)]
    assert "WITHOUT the seccomp filter" in caplog.text and "EINVAL" in caplog.text
    guarded = grade_batch([raw_sample(2, fenced("import os\ntry:\n    os.kill(os.getppid(), 0)\nexcept "
                                                "PermissionError:\n    print('denied')"),
                                      tests=[{"input": "", "output": "denied"}])], allowed)
    assert guarded[0]["aggregate_reward_score"] == 1.0  # the guards still stand


def test_a_grader_that_cannot_harden_itself_runs_nothing(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def refuse() -> bool:
        raise OSError(1, "prctl(PR_SET_DUMPABLE, 0) failed")

    monkeypatch.setattr(code_tests, "harden_parent", refuse)
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0, "allowWithoutSeccomp": True})
    with caplog.at_level(logging.ERROR, logger=code_tests.__name__):
        results = grade_batch([raw_sample(0, fenced(CORRECT))], task)
    assert metrics_of(results[0])[Flag.SANDBOX_ERROR] == 1
    assert "non-dumpable" in caplog.text


# ---------------------------------------------------------------------------------------
# The neutral reward of samples whose tests did not all run
# ---------------------------------------------------------------------------------------

_EXPECTED = {code_tests.encode_text(case["input"]): code_tests.encode_text(case["output"]) for case in SUM_TESTS}
_INPUTS = list(_EXPECTED)


def scripted_runs(monkeypatch: pytest.MonkeyPatch, scorer: Any) -> None:
    """Replace the scorer's runs: a program ``# a b c`` passes (p), fails (w), is cut by the deadline (d) or
    cannot be started (e) on the first, second and third test."""
    def run(source: bytes, stdin: bytes, bootstrap: str, env: dict[str, str], deadline: Deadline) -> Any:
        kind = source.decode().split()[1 + _INPUTS.index(stdin)]
        if kind == "p":
            return code_tests._Outcome(Status.EXITED, 0, code_tests._digest(_EXPECTED[stdin], scorer.compare))
        if kind == "w":
            return code_tests._Outcome(Status.EXITED, 0, code_tests._digest(b"wrong", scorer.compare))
        return code_tests._Outcome(Status.DEADLINE if kind == "d" else Status.ERROR, detail="scripted")

    monkeypatch.setattr(scorer, "_run", run)


def scripted(name: str, runs: str, prompt: str = "P1") -> ParsedSample:
    answer = fenced(f"# {runs}") if runs else "no code"
    return ParsedSample(name, answer, prompt, {"test_cases": SUM_TESTS}, {})


def test_samples_whose_tests_did_not_run_get_the_neutral_reward(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    scorer = load_task({"name": "code-tests", "timeoutSeconds": 1.0}).scorer
    scripted_runs(monkeypatch, scorer)
    samples = [
        scripted("all_ran", "p p p"), scripted("one_passed", "p w w"), scripted("no_code", ""),
        scripted("never_ran", "d d d"), scripted("two_passed_then_cut", "p p d"),
        scripted("wrong_then_cut", "w d d"), scripted("two_wrong_then_cut", "w w d"),
        scripted("sandbox", "e e e"), scripted("alone", "d d d", prompt="P2"),
        ParsedSample("malformed", fenced("# p p p"), "P1", {"test_cases": "none"}, {}),
    ]
    with caplog.at_level(logging.WARNING, logger=code_tests.__name__):
        scores = dict(zip([sample.sample_id for sample in samples], scorer.score_batch(samples), strict=True))
    mean = (1.0 + 1 / 3 + 0.0) / 3  # the fully scored samples of P1: all_ran, one_passed, no_code
    rewards = {name: score.reward for name, score in scores.items() if isinstance(score, Score)}
    assert rewards == {
        # Every test ran: scored as usual, whatever happened to the others.
        "all_ran": 1.0, "one_passed": pytest.approx(1 / 3), "no_code": 0.0,
        "never_ran": pytest.approx(mean),
        "two_passed_then_cut": pytest.approx(2 / 3),  # at least what its tests that ran prove
        "wrong_then_cut": pytest.approx(mean),  # within [0, 2/3]
        "two_wrong_then_cut": pytest.approx(1 / 3),  # at most what it could have earned
        "sandbox": pytest.approx(mean),
        "alone": 0.5,  # no fully scored sample of its prompt
    }
    assert isinstance(scores["malformed"], Malformed)
    flags = {name: score.flag for name, score in scores.items() if isinstance(score, Score)}
    assert flags == {"all_ran": None, "one_passed": None, "no_code": None, "never_ran": Flag.DEADLINE,
                     "two_passed_then_cut": Flag.DEADLINE, "wrong_then_cut": Flag.DEADLINE,
                     "two_wrong_then_cut": Flag.DEADLINE, "sandbox": Flag.SANDBOX_ERROR, "alone": Flag.DEADLINE}
    never_ran = scores["never_ran"]
    assert isinstance(never_ran, Score) and never_ran.passed is False
    assert never_ran.metrics[Metric.NOT_RUN] == 3 and never_ran.metrics[Metric.TESTS_PASSED] == 0
    assert "5 samples got the neutral reward (deadline): 10 of their 15 tests did not run" in caplog.text
    assert "1 samples got the neutral reward (sandbox_error)" in caplog.text


def test_a_fixed_neutral_score(monkeypatch: pytest.MonkeyPatch) -> None:
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0, "neutralScore": 0.9})
    scripted_runs(monkeypatch, task.scorer)
    scores = task.score_batch([scripted("all_ran", "p p p"), scripted("never_ran", "d d d"),
                               scripted("two_wrong_then_cut", "w w d"), scripted("sandbox", "e e e")])
    assert [score.reward for score in scores] == [1.0, 0.9, pytest.approx(1 / 3), 0.9]
    # Through the grader: flagged, not passed.
    results = grade_batch([raw_sample(0, fenced("# d d d"))], task)
    assert metrics_of(results[0])[Flag.DEADLINE] == 1 and metrics_of(results[0])["flagged"] == 1
    assert metrics_of(results[0])["passed"] == 0.0 and results[0]["aggregate_reward_score"] == 0.9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="pwde", min_size=3, max_size=3).map(" ".join), min_size=1, max_size=8),
       st.sampled_from([0.0, 0.1]))
def test_the_neutral_reward_stays_within_what_the_runs_prove(runs: list[str], failed_code_reward: float) -> None:
    scorer = code_tests.configure({**defaults_of(OPTIONS), "failedCodeReward": failed_code_reward})
    with pytest.MonkeyPatch.context() as monkeypatch:
        scripted_runs(monkeypatch, scorer)
        scores = scorer.score_batch([scripted(str(index), run) for index, run in enumerate(runs)])
    for run, score in zip(runs, scores, strict=True):
        assert isinstance(score, Score)
        passed, unrun = run.split().count("p"), sum(run.split().count(kind) for kind in "de")
        low = passed / 3 if passed else failed_code_reward
        high = (passed + unrun) / 3 if passed + unrun else failed_code_reward
        assert low - 1e-9 <= score.reward <= high + 1e-9
        assert (score.flag is None) == (unrun == 0)
        if unrun == 0:
            assert score.reward == pytest.approx(low)
