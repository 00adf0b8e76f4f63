"""char-limit against reward hacking: answers that are empty to a reader, echoes, restated limits, refusals.

The issue measured 27 of 32 useless answers scoring the full 1.0; every one of them (and more) scores 0
here, while real short answers, in any script, keep their 1.0.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.tasks import load_task
from lambda_reward.runtime.tasks._text import echoes, fold, has_visible_content, is_refusal
from lambda_reward.runtime.tasks.char_limit import restates_limit

PROMPT = "富士山について30文字以内で説明して"
EN_PROMPT = "Explain photosynthesis within 40 characters."

USELESS = {
    # Invisible or format characters only.
    "zero-width space": "\u200b",
    "zero-width joiners": "\u200d\u200d\u200d",
    "word joiner and BOM": "\u2060\ufeff",
    "soft hyphens": "\u00ad\u00ad",
    "bidi controls": "\u202e\u202d\u2066\u2069",
    "hangul filler": "\u3164",
    "halfwidth hangul filler": "\uffa0",
    "hangul choseong filler": "\u115f\u1160",
    "braille blank": "\u2800\u2800",
    "variation selectors": "\ufe0f\ufe0e",
    "tag characters": "\U000e0041\U000e0042",
    "control characters": "\x01\x02\x7f",
    "lone combining marks": "\u0301\u0302\u0303",
    "combining mark on a space": " \u20dd",
    "ideographic spaces": "\u3000\u3000",
    "mongolian vowel separator": "\u180e",
    # Punctuation or symbols alone.
    "one full stop": "。",
    "dots": "……",
    "punctuation": "!?、。「」",
    "one emoji": "🗻",
    "emoji sequence": "👨\u200d👩\u200d👧",
    "flag": "🇯🇵",
    "symbols": "★☆→",
    "math symbols": "+=<>",
    # Tags hiding nothing.
    "only reasoning": "<think>富士山は日本一高い山です</think>",
    "unclosed reasoning": "<think>富士山は",
    "harmony analysis only": "<|channel|>analysis<|message|>富士山<|end|>",
    # Words that answer nothing.
    "refusal ja": "申し訳ありませんが、お答えできません。",
    "refusal ja sumimasen": "すみません、わかりません。",
    "refusal en": "I'm sorry, but I can't help with that.",
    "refusal en cannot": "I cannot answer that.",
    "as an AI": "As an AI, I have no opinion.",
    # The prompt or its limit given back.
    "prompt echoed": PROMPT,
    "prompt echoed with spaces": " 富士山について 30文字以内で 説明して ",
    "first half of the prompt": "富士山について30文字",
    "the limit itself": "30文字以内",
    "the limit in kanji": "三十文字以内で",
    "the limit in full width": "３０文字以内",
    # Found by review: refusals in other phrasings, or behind quotes, markdown or invisible characters.
    "refusal unfortunately": "Unfortunately, I can't help with that.",
    "refusal apologize": "I apologize, but I cannot.",
    "refusal sorry but": "Sorry but no.",
    "refusal dont know": "I don't know.",
    "refusal afraid": "I'm afraid I can't.",
    "refusal hikaeru": "回答を控えさせていただきます",
    "refusal itashikanemasu": "お答えいたしかねます",
    "refusal in markdown": "**I'm sorry**",
    "refusal in quotes": "「申し訳ありません」",
    "refusal behind a zero-width space": "\u200bI'm sorry, I can't.",
}

# Echoes of a prompt whose limit phrase the answer leaves out, edits or reorders (found by review).
ECHOES = [
    ("大航海時代とはどんな時代か、95文字以内で説明して。", "大航海時代とはどんな時代か説明して。"),
    ("Describe the Great Wall of China in 85 characters or less.", "Describe the Great Wall of Chína in 85"),
    ("Describe the Great Wall of China in 85 characters or less.", "the Great Wall of China, describe it"),
    ("Describe the Great Wall of China in 85 characters or less.",
     "OK: Ｄｅｓｃｒｉｂｅ the Great Wall of China in ８５ ｃｈａｒａｃｔｅｒｓ ｏｒ ｌｅｓｓ．"),
    ("自転車に安全に乗るための注意点を80文字以下で説明して", "自転車に安全に乗るための注意点を説明"),
]


def score(answer: Any, prompt: str = PROMPT, task: Any = None, **fields: Any) -> dict[str, Any]:
    sample = {
        "id": 0,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        **fields,
    }
    (result,) = grade_batch([sample], load_task(task) if task is not None else None)
    return result


def metrics(result: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry["value"] for entry in result["metrics_list"]}


def test_the_measured_case_count_is_covered() -> None:
    assert len(USELESS) >= 32


@pytest.mark.parametrize("answer", USELESS.values(), ids=list(USELESS))
def test_useless_answers_score_zero(answer: str) -> None:
    result = score(answer)
    assert result["aggregate_reward_score"] == 0.0, metrics(result)
    assert metrics(result)["passed"] == 0.0


@pytest.mark.parametrize(
    "answer",
    [
        "日本一高い山で、静岡県と山梨県にある。",
        "標高3776m",  # digits count as content
        "活火山",
        "Ａ",  # one full-width letter
        "Mt. Fuji: 3,776 m 🗻",  # an emoji beside words is fine
        "富士山は日本一高い山",  # words from the prompt, but an answer
        "Ēá",
    ],
)
def test_real_answers_keep_their_reward(answer: str) -> None:
    assert score(answer)["aggregate_reward_score"] == 1.0


@pytest.mark.parametrize(("prompt", "answer"), ECHOES)
def test_echoes_without_the_limit_phrase_or_edited_score_zero(prompt: str, answer: str) -> None:
    assert score(answer, prompt)["aggregate_reward_score"] == 0.0


def test_no_shipped_prompt_can_be_echoed_without_its_limit_phrase() -> None:
    """The reviewer found 95 of the 125 training prompts echoable once their limit phrase was dropped."""
    import json
    from pathlib import Path

    from lambda_reward.runtime.tasks.char_limit import _EN_LIMIT, _JA_LIMIT

    path = Path(__file__).resolve().parents[3] / "training-data" / "char-limit" / "training.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        prompt = json.loads(line)["messages"][-1]["content"]
        echo = _EN_LIMIT.sub("", _JA_LIMIT.sub("", prompt))
        assert score(echo, prompt)["aggregate_reward_score"] == 0.0, (prompt, echo)


def test_english_useless_and_real_answers() -> None:
    assert score("Plants turn light into sugar.", EN_PROMPT)["aggregate_reward_score"] == 1.0
    assert score("Explain photosynthesis", EN_PROMPT)["aggregate_reward_score"] == 0.0  # most of the prompt
    assert score("within 40 characters", EN_PROMPT)["aggregate_reward_score"] == 0.0
    assert score("photosynthesis", EN_PROMPT)["aggregate_reward_score"] == 1.0  # a word of it is no echo


def test_each_rejection_is_a_metric_of_the_result() -> None:
    assert metrics(score("。"))["empty"] == 1
    assert metrics(score(PROMPT))["restated_limit"] == 1  # the echo states the limit too
    assert metrics(score("富士山について説明", "富士山について説明して", char_limit=30))["echo"] == 1
    assert metrics(score("申し訳ありません"))["refusal"] == 1
    assert metrics(score("30字以内"))["restated_limit"] == 1


def test_hidden_text_after_visible_text_counts() -> None:
    # An answer within the limit, then a tag hiding 100 more characters: they count.
    result = score("日本一高い山。<think>" + "あ" * 100)
    assert metrics(result)["char_count"] > 30 and result["aggregate_reward_score"] < 0.5
    result = score("日本一高い山。<reasoning>" + "あ" * 100 + "</reasoning>")
    assert metrics(result)["char_count"] > 30


def test_reasoning_that_leads_is_removed() -> None:
    assert score("<think>" + "考" * 200 + "</think>日本一高い山")["aggregate_reward_score"] == 1.0
    hidden = "考" * 200 + "</think>日本一高い山"
    assert score(hidden)["aggregate_reward_score"] == 0.0  # a stray closing tag hides nothing by default
    qwen = {"id": 0, "messages": [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": hidden}]}
    (result,) = grade_batch([qwen], prompt_opens_reasoning=True)  # Qwen3's template opens <think>
    assert result["aggregate_reward_score"] == 1.0
    harmony = ("<|channel|>analysis<|message|>" + "考" * 200
               + "<|end|><|start|>assistant<|channel|>final<|message|>日本一高い山<|return|>")
    assert score(harmony)["aggregate_reward_score"] == 1.0
    blocks = [{"type": "reasoning", "text": "考" * 200}, {"type": "text", "text": "日本一高い山"}]
    assert score(blocks)["aggregate_reward_score"] == 1.0


def test_min_share_pays_short_answers_in_proportion() -> None:
    task = {"name": "char-limit", "minShare": 0.5}  # at least 15 of 30
    assert score("あ" * 15, task=task)["aggregate_reward_score"] == 1.0
    short = score("あ" * 5, task=task)
    assert short["aggregate_reward_score"] == pytest.approx(5 / 15) and metrics(short)["passed"] == 0.0
    assert score("あ" * 31, task=task)["aggregate_reward_score"] < 0.5


def test_each_rejection_can_be_switched_off() -> None:
    lenient = {"name": "char-limit", "rejectEcho": False, "rejectRestatedLimit": False, "rejectRefusals": False}
    assert score("申し訳ありません", task=lenient)["aggregate_reward_score"] == 1.0
    assert score("30文字以内", task=lenient)["aggregate_reward_score"] == 1.0
    lenient_echo = score("富士山について説明", "富士山について説明して", task=lenient, char_limit=30)
    assert lenient_echo["aggregate_reward_score"] == 1.0
    assert score("。", task=lenient)["aggregate_reward_score"] == 0.0  # nothing visible is never an answer


def test_echo_share_is_an_option() -> None:
    # "富士山について" repeats 4 of the 9 four-letter runs of the prompt without its limit phrase: under half.
    assert score("富士山について")["aggregate_reward_score"] == 1.0
    assert score("富士山について", task={"name": "char-limit", "echoShare": 0.4})["aggregate_reward_score"] == 0.0
    assert score("富士山", task={"name": "char-limit", "echoShare": 0.1})["aggregate_reward_score"] == 1.0  # < 4


def test_helpers() -> None:
    assert not has_visible_content("\u200b\u3164。🗻") and has_visible_content("x") and has_visible_content("１")
    assert echoes("富士山について30文字以内で説明して!", PROMPT) and not echoes("東京", "東京はどこ?")
    assert is_refusal(fold("  I'm sorry")) and is_refusal(fold("**Sorry**")) and not is_refusal(fold("Sore throats"))
    assert restates_limit(fold("within 30 characters")) and not restates_limit(fold("30 cats"))
    assert restates_limit(fold("８５ ｃｈａｒａｃｔｅｒｓ ｏｒ ｌｅｓｓ"))


invisible = st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u3164", "\u115f", "\u00ad", "\ufe0f", "\u202e"])


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(categories=["Mn", "Me", "Cf", "Cc", "Zs", "P", "S"]) | invisible, max_size=40
    )
)
def test_no_letter_or_digit_is_no_answer(answer: str) -> None:
    assert score(answer)["aggregate_reward_score"] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_answer_scores_in_the_unit_interval_and_passes_only_within_the_limit(answer: str) -> None:
    result = score(answer)
    reward, values = result["aggregate_reward_score"], metrics(result)
    assert 0.0 <= reward <= 1.0
    assert (values["passed"] == 1.0) == (reward == 1.0)
    if reward > 0:
        assert has_visible_content(answer.strip()) or "<" in answer


@pytest.mark.parametrize(
    "answer",
    [
        "Unfortunately, the Titanic sank in 1912.",
        "残念ながら、冥王星は準惑星です。",
        "「すみません」は謝罪の言葉です。",
        "Sorry is a word people use to apologize.",
        "知りませんでした、は過去の不知を表す。",
        "I cannot stress it enough: wash hands.",
        "I won't lie: it is hard.",
    ],
)
def test_factual_answers_that_start_like_a_refusal_are_not_one(answer: str) -> None:
    prompt = "Explain this within 60 characters."
    assert score(answer, prompt)["aggregate_reward_score"] == 1.0, answer


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is a renewable energy source? Answer within 40 characters.", "A renewable energy source: wind."),
        ("What is a household budget? Explain within 50 characters.", "A household budget is a household's plan."),
        ("富士山について30文字以内で説明して", "富士山は日本一高い山"),
    ],
)
def test_a_short_answer_built_on_the_prompts_words_is_no_echo(prompt: str, answer: str) -> None:
    assert score(answer, prompt)["aggregate_reward_score"] == 1.0


def test_an_exact_echo_check_lets_corrections_of_the_prompt_through() -> None:
    prompt = "Fix the typos: Teh quick brown fox jumsp over the lazy dog."
    assert echoes("Fix the typos: Teh quick brown fox", prompt, edited=False)
    assert not echoes("The quick brown fox jumps over the lazy dog.", prompt, edited=False)
