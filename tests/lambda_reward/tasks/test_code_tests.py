"""The code-tests task: finding the program, reading test cases, the sandbox, scoring a batch.

Runs use small limits (a 1 s wall clock) and are batched into few grade_batch calls, so the file
stays quick. The secrets test runs a grader in a subprocess (as ``nobody`` when the tests run as
root, because root may read any process's /proc entries and ignores RLIMIT_NPROC, as Lambda's user
does not).
"""

from __future__ import annotations

import json
import os
import re
import shutil
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
     ({"sandbox": False}, "sandbox")],
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
    env = _sandbox.child_environment(task.scorer.limits, task.scorer.bootstrap)
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


def test_a_sandbox_that_cannot_start_programs_flags_every_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked once per process by a trivial run: a broken interpreter never passes for a batch of wrong answers."""
    monkeypatch.setattr(_sandbox, "_environments", {})
    monkeypatch.setattr(_sandbox.sys, "executable", "/bin/false")
    task = load_task({"name": "code-tests", "timeoutSeconds": 1.0})
    results = grade_batch([raw_sample(0, fenced(CORRECT)), raw_sample(1, "no code")], task)
    assert metrics_of(results[0])[Flag.SANDBOX_ERROR] == 1 and metrics_of(results[0])["flagged"] == 1
    assert metrics_of(results[0])[Metric.NOT_RUN] == len(SUM_TESTS)
    assert "flagged" not in metrics_of(results[1])  # nothing to run: a genuine 0


def test_the_loader_path_is_passed_only_when_the_interpreter_needs_it(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """A Python built with a shared libpython and no RPATH (as Lambda's may be) starts only with
    LD_LIBRARY_PATH: the child then gets that one variable, and still no credentials."""
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\n[ -n "$LD_LIBRARY_PATH" ] || exit 127\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(_sandbox, "_environments", {})
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
    task = load_task({"name": "code-tests", "timeoutSeconds": 10.0})
    marker = tmp_path / "ran"
    scores = task.score_batch([parsed(fenced(f"open({str(marker)!r}, 'w')\n{CORRECT}"))], Deadline(0.0))
    assert isinstance(scores[0], Score) and scores[0].flag == Flag.DEADLINE
    assert scores[0].reward == 0.0 and scores[0].metrics[Metric.NOT_RUN] == len(SUM_TESTS)
    assert not marker.exists()  # nothing was started

    start = time.monotonic()
    scores = task.score_batch([parsed(fenced("while True:\n    pass")), parsed(fenced(CORRECT))], Deadline(1.0))
    elapsed = time.monotonic() - start
    loop, correct = scores
    assert isinstance(loop, Score) and loop.flag == Flag.DEADLINE and loop.metrics[Metric.TIMED_OUT] == 0
    assert isinstance(correct, Score) and correct.reward == 1.0 and correct.flag is None
    assert elapsed < 1.0 + 1.0  # ten seconds of timeout, cut to what the invocation had left


def test_the_process_group_is_killed(task: Any, tmp_path: Path) -> None:
    """A descendant left behind (possible only where RLIMIT_NPROC does not bind, e.g. as root) dies with
    the group when the program exits."""
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
        "thread": ("import threading\\ntry:\\n    threading.Thread(target=print).start()\\n    print('started')\\n"
                   "except RuntimeError:\\n    print('blocked')", "blocked"),
        "subprocess": ("import subprocess\\ntry:\\n    subprocess.run(['/bin/true'])\\n    print('ran')\\n"
                       "except OSError:\\n    print('blocked')", "blocked"),
        "dumpable": ("import ctypes\\nprint(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))", "0"),
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


def test_a_program_cannot_reach_credentials_processes_or_other_programs() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}
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
    completed = subprocess.run([python, "-c", _INNER], capture_output=True, text=True, env=env, cwd="/",
                               timeout=60, check=False, **kwargs)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["uid"] != 0
    assert report["control"] == "leak"  # the threat is real here: an unhardened grader's environ is readable
    assert {name: passed for name, passed in report.items() if name not in ("control", "uid")} == {
        "proc_environ": True, "fork": True, "thread": True, "subprocess": True, "dumpable": True,
        "parent_fds": True,
    }
