"""rft:alarms and the grader's concurrency settings: defaults, overrides, and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import AlarmsConfig, ConfigError, build_config
from tests.conftest import CDK_CONTEXT


def merged_config(**context: Any):
    """As app.py builds it: the CLI's context over cdk.json's, cdk.json merged back under -c objects."""
    return build_config({**CDK_CONTEXT, **context}, project_context=CDK_CONTEXT)


def stacks_of(**context: Any) -> dict[str, Any]:
    return {stack.stack_name: stack for stack in merged_config(**context).stacks}


def problems_of(**context: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        merged_config(**context)
    return error.value.problems


NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"


def test_defaults() -> None:
    for stack in stacks_of().values():
        assert stack.alarms == AlarmsConfig(enabled=True, period_minutes=5, evaluation_periods=1, grader_errors=1,
                                            grader_throttles=1, grader_duration_share=0.8, malformed_share=0.5)
        # No reservation: Bedrock calls the grader in parallel, and a reservation would cap it.
        assert stack.grader.reserved_concurrency is None


def test_dotted_keys_and_c_objects_set_one_field_as_typed_on_the_command_line() -> None:
    stacks = stacks_of(**{"rft:alarms.graderErrors": "5", "rft:alarms.graderDurationShare": "0.9",
                          "rft:grader.reservedConcurrency": "100"})
    for stack in stacks.values():
        assert (stack.alarms.grader_errors, stack.alarms.grader_duration_share) == (5, 0.9)
        assert stack.alarms.grader_throttles == 1  # the rest stays
        assert stack.grader.reserved_concurrency == 100
        assert stack.grader.log_retention_days == 30  # cdk.json's rft:grader merges under the dotted key
    stacks = stacks_of(**{"rft:alarms": '{"enabled": false, "periodMinutes": "10"}'})
    assert all(not s.alarms.enabled and s.alarms.period_minutes == 10 for s in stacks.values())


def test_a_variant_overrides_the_apps_settings_field_by_field() -> None:
    stacks = stacks_of(**{
        "rft:alarms": {"graderErrors": 3, "periodMinutes": 15},
        "rft:grader": {"reservedConcurrency": 40},
        "rft:nova.alarms.graderErrors": "10",
        "rft:mantle.alarms.enabled": "false",
        "rft:mantle.grader": {"reservedConcurrency": None},
    })
    nova, mantle = stacks[NOVA], stacks[MANTLE]
    assert (nova.alarms.grader_errors, nova.alarms.period_minutes, nova.alarms.enabled) == (10, 15, True)
    assert (mantle.alarms.grader_errors, mantle.alarms.period_minutes, mantle.alarms.enabled) == (3, 15, False)
    assert nova.grader.reserved_concurrency == 40
    # null puts a field back to its default, here no reservation.
    assert mantle.grader.reserved_concurrency is None


def test_a_mantle_model_may_have_its_own_alarms() -> None:
    stacks = stacks_of(**{"rft:mantle": {"models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"],
                                         "modelOverrides": {"qwen.qwen3-32b": {"alarms": {"malformedShare": 0.2}}}}})
    assert stacks["BedrockRft-Qwen3-32b"].alarms.malformed_share == 0.2
    assert stacks[MANTLE].alarms.malformed_share == 0.5


@pytest.mark.parametrize(
    "context,expected",
    [
        ({"rft:alarms": {"graderError": 2}},
         "rft:alarms.graderError: unknown setting; did you mean graderErrors? allowed: enabled, evaluationPeriods, "),
        ({"rft:alarms.graderErrors": "many"}, "rft:alarms.graderErrors: expected a whole number from 1 to 1000000, "
                                              "got 'many'"),
        ({"rft:alarms": {"graderErrors": True}}, "rft:alarms.graderErrors: expected a whole number"),
        ({"rft:alarms": {"graderErrors": 0}}, "rft:alarms.graderErrors: 0 is out of range; allowed 1 to 1000000"),
        ({"rft:alarms": {"graderThrottles": 2.5}}, "rft:alarms.graderThrottles: expected a whole number"),
        ({"rft:alarms": {"periodMinutes": 61}}, "rft:alarms.periodMinutes: 61 is out of range; allowed 1 to 60"),
        ({"rft:alarms": {"evaluationPeriods": 0}}, "rft:alarms.evaluationPeriods: 0 is out of range; allowed 1 to 24"),
        # At most a day of periods: CloudWatch's limit for an alarm.
        ({"rft:alarms": {"periodMinutes": 60, "evaluationPeriods": 25}},
         "rft:alarms.evaluationPeriods: 25 is out of range; allowed 1 to 24"),
        ({"rft:alarms": {"graderDurationShare": 80}},
         "rft:alarms.graderDurationShare: 80 is out of range; allowed 0.1 to 1 (a share: 0.8 is 80%)"),
        ({"rft:alarms": {"graderDurationShare": float("nan")}},
         "rft:alarms.graderDurationShare: expected a number from 0.1 to 1 (a share: 0.8 is 80%), got nan"),
        ({"rft:alarms.malformedShare": "half"}, "rft:alarms.malformedShare: expected a number from 0.01 to 1"),
        ({"rft:alarms": {"malformedShare": 0}}, "rft:alarms.malformedShare: 0 is out of range"),
        ({"rft:alarms": {"enabled": "yes"}}, "rft:alarms.enabled: expected true or false, got 'yes'"),
        ({"rft:alarms": "[1]"}, "rft:alarms: expected an object, got list"),
        ({"rft:alarms.graderErrors.x": "1"}, "rft:alarms.graderErrors: expected a whole number from 1 to 1000000, "
                                             "got {'x': 1}"),
        ({"rft:nova.alarms": {"periodminutes": 5}}, "rft:nova.alarms.periodminutes: unknown setting; did you mean "
                                                    "periodMinutes?"),
        ({"rft:alarm": {"enabled": False}}, "rft:alarm: unknown context key; did you mean rft:alarms?"),
        ({"rft:grader.reservedConcurency": "5"},
         "rft:grader.reservedConcurency: unknown setting; did you mean reservedConcurrency?"),
        ({"rft:grader.reservedConcurrency": "0"},
         "rft:grader.reservedConcurrency: 0 is out of range; allowed 1 to 10000"),
        ({"rft:grader.reservedConcurrency": "lots"}, "rft:grader.reservedConcurrency: expected a whole number"),
        ({"rft:grader.reservedConcurrency": "100000"}, "rft:grader.reservedConcurrency: 100000 is out of range"),
        # Not offered: it would stay, billed, on every retained grader version (docs/monitoring.md).
        ({"rft:grader.provisionedConcurrency": "2"},
         "rft:grader.provisionedConcurrency: unknown setting; did you mean reservedConcurrency?"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(context, expected) -> None:
    problems = problems_of(**context)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(**{"rft:alarms": {"graderErrors": 0, "malformedShare": 2, "colour": "red"},
                              "rft:grader.reservedConcurrency": "0"})
    assert len(problems) == 4, problems
    for key in ("rft:alarms.colour: unknown setting", "rft:alarms.graderErrors: 0 is out of range",
                "rft:alarms.malformedShare: 2 is out of range", "rft:grader.reservedConcurrency: 0 is out of range"):
        assert any(p.startswith(key) for p in problems), (key, problems)
