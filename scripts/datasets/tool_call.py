"""The tool-call example dataset: requests in English and Japanese answered by calling functions.

Six functions (weather, currency conversion, calendar, triangle area, compound interest,
translation) in OpenAI's function schema, all offered to every prompt (the model must pick the
right one), listed in the system prompt and in the record's ``tools``. Each prompt states every
value the call needs: cities and currencies map to English names and ISO codes the descriptions
ask for, dates are written out, titles and texts are quoted. The reference, ``reference_answer.
ground_truth``, is the call string (a list of them for requests that need several calls) as AWS's
BFCL sample reads it, rendered from the same values the prompt was written from.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Current weather and forecast for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name in English, e.g. 'Paris'"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius",
                     "description": "Temperature unit"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1,
                     "description": "Number of forecast days, today included"},
        }, "required": ["city"]},
    }},
    {"type": "function", "function": {
        "name": "convert_currency",
        "description": "Convert an amount of money from one currency to another at today's rate.",
        "parameters": {"type": "object", "properties": {
            "amount": {"type": "number", "description": "Amount in the source currency"},
            "from_currency": {"type": "string", "description": "ISO 4217 code of the source currency, e.g. 'USD'"},
            "to_currency": {"type": "string", "description": "ISO 4217 code of the target currency, e.g. 'JPY'"},
        }, "required": ["amount", "from_currency", "to_currency"]},
    }},
    {"type": "function", "function": {
        "name": "create_event",
        "description": "Add an event to the user's calendar.",
        "parameters": {"type": "object", "properties": {
            "title": {"type": "string", "description": "Event title, exactly as the user gives it"},
            "date": {"type": "string", "description": "Date as YYYY-MM-DD"},
            "start_time": {"type": "string", "description": "Start time as HH:MM, 24-hour clock"},
            "duration_minutes": {"type": "integer", "default": 60, "description": "Length in minutes"},
        }, "required": ["title", "date", "start_time"]},
    }},
    {"type": "function", "function": {
        "name": "triangle_area",
        "description": "Area of a triangle from its base and height.",
        "parameters": {"type": "object", "properties": {
            "base": {"type": "number", "description": "Base length"},
            "height": {"type": "number", "description": "Height, perpendicular to the base"},
        }, "required": ["base", "height"]},
    }},
    {"type": "function", "function": {
        "name": "compound_interest",
        "description": "Final balance of a deposit with compound interest.",
        "parameters": {"type": "object", "properties": {
            "principal": {"type": "number", "description": "Initial deposit"},
            "annual_rate_percent": {"type": "number", "description": "Yearly interest rate in percent, e.g. 3.5"},
            "years": {"type": "integer", "description": "Number of years"},
            "compounds_per_year": {"type": "integer", "default": 1,
                                   "description": "Times interest is compounded per year (12: monthly)"},
        }, "required": ["principal", "annual_rate_percent", "years"]},
    }},
    {"type": "function", "function": {
        "name": "translate_text",
        "description": "Translate a text into another language.",
        "parameters": {"type": "object", "properties": {
            "text": {"type": "string", "description": "The text to translate, exactly as given"},
            "target_language": {"type": "string", "description": "ISO 639-1 code of the target language, e.g. 'fr'"},
        }, "required": ["text", "target_language"]},
    }},
]

SYSTEM = (
    "You answer requests by calling functions. Reply with the function call(s) only, in Python syntax with "
    "keyword arguments, one call per line, for example: get_weather(city=\"Paris\"). Pass the arguments the "
    "request determines and nothing else; write no other text.\n\nFunctions:\n"
    + json.dumps(TOOLS, ensure_ascii=False)
)

# (English name, Japanese name) of cities the weather prompts ask about.
CITIES = [
    ("Paris", "パリ"), ("London", "ロンドン"), ("Tokyo", "東京"), ("Osaka", "大阪"), ("Kyoto", "京都"),
    ("Sapporo", "札幌"), ("Fukuoka", "福岡"), ("New York", "ニューヨーク"), ("Sydney", "シドニー"),
    ("Berlin", "ベルリン"), ("Rome", "ローマ"), ("Seoul", "ソウル"), ("Toronto", "トロント"),
    ("Madrid", "マドリード"), ("Singapore", "シンガポール"), ("Bangkok", "バンコク"),
]
# (ISO code, English name, Japanese name).
CURRENCIES = [
    ("USD", "US dollars", "米ドル"), ("EUR", "euros", "ユーロ"), ("JPY", "Japanese yen", "日本円"),
    ("GBP", "British pounds", "英ポンド"), ("CHF", "Swiss francs", "スイスフラン"),
    ("CAD", "Canadian dollars", "カナダドル"), ("AUD", "Australian dollars", "豪ドル"),
    ("KRW", "South Korean won", "韓国ウォン"), ("CNY", "Chinese yuan", "人民元"),
]
# (ISO 639-1 code, English name, Japanese name).
LANGUAGES = [
    ("fr", "French", "フランス語"), ("de", "German", "ドイツ語"), ("es", "Spanish", "スペイン語"),
    ("it", "Italian", "イタリア語"), ("ko", "Korean", "韓国語"), ("zh", "Chinese", "中国語"),
    ("en", "English", "英語"), ("ja", "Japanese", "日本語"),
]
PHRASES_EN = ["Good morning", "Thank you very much", "Where is the station?", "See you tomorrow",
              "The meeting starts at nine", "How much is this?", "I would like a coffee", "Happy birthday"]
PHRASES_JA = ["おはようございます", "ありがとうございます", "駅はどこですか", "また明日",
              "会議は九時に始まります", "これはいくらですか", "コーヒーをお願いします", "お誕生日おめでとう"]
EVENTS_EN = ["Team sync", "Dentist", "Project review", "Lunch with Sam", "Budget planning", "Yoga class",
             "Quarterly report", "Call with the bank"]
EVENTS_JA = ["定例会議", "歯医者", "企画レビュー", "佐藤さんとランチ", "予算会議", "ヨガ教室", "四半期報告",
             "銀行との打ち合わせ"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
# Durations as people say them: (minutes, English, Japanese).
DURATIONS = [(30, "30 minutes", "30分"), (45, "45 minutes", "45分"), (90, "an hour and a half", "1時間半"),
             (120, "two hours", "2時間"), (60, "one hour", "1時間")]
COMPOUNDING = [(12, "monthly", "毎月"), (4, "quarterly", "四半期ごとに"), (1, "annually", "年1回")]

Call = tuple[str, dict[str, Any]]


def render(call: Call) -> str:
    """``name(key=value, ...)`` with Python literals (strings double-quoted as JSON writes them)."""
    name, args = call
    return f"{name}(" + ", ".join(f"{key}={_literal(value)}" for key, value in args.items()) + ")"


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


# Currencies without a minor unit in everyday use: amounts are whole and larger.
WHOLE_CURRENCIES = ("JPY", "KRW")


def _amount(rng: random.Random, currency: str) -> int | float:
    if currency in WHOLE_CURRENCIES:
        return rng.randrange(500, 200_000, 100)
    return rng.choice([rng.randrange(10, 5000, 5), round(rng.uniform(5, 500), 2)])


def _weather(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    (city, city_ja) = rng.choice(CITIES)
    unit = rng.choice([None, None, "celsius", "fahrenheit"])
    days = rng.choice([None, None, 3, 5, 7])
    args: dict[str, Any] = {"city": city}
    if unit:
        args["unit"] = unit
    if days:
        args["days"] = days
    if japanese:
        when = f"{days}日間の天気予報" if days else "今の天気"
        how = {"celsius": "摂氏で", "fahrenheit": "華氏で", None: ""}[unit]
        prompt = f"{city_ja}の{when}を{how}教えて。"
    else:
        when = f"the {days}-day forecast" if days else "the current weather"
        how = {"celsius": " in Celsius", "fahrenheit": " in Fahrenheit", None: ""}[unit]
        prompt = rng.choice(["What's {w} for {c}{h}?", "Give me {w} in {c}{h}.", "Check {w} for {c}{h}, please."]
                            ).format(w=when, c=city, h=how)
    return prompt, [("get_weather", args)]


def _two_cities(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    (a, a_ja), (b, b_ja) = rng.sample(CITIES, 2)
    if japanese:
        prompt = f"{a_ja}と{b_ja}の今の天気をそれぞれ調べて。"
    else:
        prompt = f"What's the weather right now in {a} and in {b}?"
    return prompt, [("get_weather", {"city": a}), ("get_weather", {"city": b})]


def _currency(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    (source, source_en, source_ja), (target, target_en, target_ja) = rng.sample(CURRENCIES, 2)
    amount = _amount(rng, source)
    call = ("convert_currency", {"amount": amount, "from_currency": source, "to_currency": target})
    if japanese:
        prompt = f"{amount}{source_ja}は{target_ja}でいくらですか?"
    else:
        prompt = rng.choice(["Convert {a} {s} to {t}.", "How much is {a} {s} in {t}?"]).format(
            a=amount, s=source_en, t=target_en)
    return prompt, [call]


def _currency_twice(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    (source, source_en, source_ja), (first, first_en, first_ja), (second, second_en, second_ja) = rng.sample(
        CURRENCIES, 3)
    amount = rng.randrange(20, 2000, 10) * (100 if source in WHOLE_CURRENCIES else 1)
    calls = [("convert_currency", {"amount": amount, "from_currency": source, "to_currency": target})
             for target in (first, second)]
    if japanese:
        prompt = f"{amount}{source_ja}を{first_ja}と{second_ja}の両方に換算して。"
    else:
        prompt = f"Convert {amount} {source_en} into both {first_en} and {second_en}."
    return prompt, calls


def _event(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    hour, minute = rng.randint(8, 19), rng.choice([0, 15, 30, 45])
    duration = rng.choice([None, *DURATIONS])
    title = rng.choice(EVENTS_JA if japanese else EVENTS_EN)
    args: dict[str, Any] = {
        "title": title, "date": f"2026-{month:02d}-{day:02d}", "start_time": f"{hour:02d}:{minute:02d}",
    }
    if duration:
        args["duration_minutes"] = duration[0]
    if japanese:
        length = f"{duration[2]}の" if duration else ""
        clock = f"{hour}時{minute}分" if minute else f"{hour}時"
        prompt = f"2026年{month}月{day}日の{clock}から{length}「{title}」をカレンダーに入れて。"
    else:
        length = f" for {duration[1]}" if duration else ""
        clock = f"{hour:02d}:{minute:02d}"
        prompt = f'Add "{title}" to my calendar on {MONTHS_EN[month - 1]} {day}, 2026 at {clock}{length}.'
    return prompt, [("create_event", args)]


def _triangle(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    base = rng.choice([rng.randint(2, 40), rng.randint(2, 40) + 0.5])
    height = rng.randint(2, 40)
    call = ("triangle_area", {"base": base, "height": height})
    if japanese:
        prompt = f"底辺{base}cm、高さ{height}cmの三角形の面積を求めて。"
    else:
        prompt = f"What is the area of a triangle with a base of {base} cm and a height of {height} cm?"
    return prompt, [call]


def _interest(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    principal = rng.choice([1000, 2500, 5000, 10000, 20000, 50000, 100000]) * rng.randint(1, 3)
    rate = rng.choice([1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6])
    years = rng.randint(2, 30)
    compounding = rng.choice([None, *COMPOUNDING])
    args: dict[str, Any] = {"principal": principal, "annual_rate_percent": rate, "years": years}
    if compounding:
        args["compounds_per_year"] = compounding[0]
    if japanese:
        how = f"{compounding[2]}複利で" if compounding else ""
        prompt = f"{principal}円を年利{rate}%、{how}{years}年間預けると最終残高はいくらになりますか?"
    else:
        how = f", compounded {compounding[1]}" if compounding else ""
        prompt = f"What will {principal} dollars grow to at {rate}% a year for {years} years{how}?"
    return prompt, [("compound_interest", args)]


def _translate(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    code, language_en, language_ja = rng.choice([lang for lang in LANGUAGES if lang[0] != ("ja" if japanese else "en")])
    # A text is never translated into its own language.
    phrases = PHRASES_JA if code == "en" else PHRASES_EN if code == "ja" else rng.choice([PHRASES_EN, PHRASES_JA])
    text = rng.choice(phrases)
    call = ("translate_text", {"text": text, "target_language": code})
    if japanese:
        prompt = f"「{text}」を{language_ja}に翻訳して。"
    else:
        prompt = f'Translate "{text}" into {language_en}.'
    return prompt, [call]


def _weather_and_currency(rng: random.Random, japanese: bool) -> tuple[str, list[Call]]:
    city, city_ja = rng.choice(CITIES)
    (source, source_en, source_ja), (target, target_en, target_ja) = rng.sample(CURRENCIES, 2)
    amount = rng.randrange(50, 3000, 50) * (100 if source in WHOLE_CURRENCIES else 1)
    calls = [("get_weather", {"city": city}),
             ("convert_currency", {"amount": amount, "from_currency": source, "to_currency": target})]
    if japanese:
        prompt = f"{city_ja}へ旅行します。今の{city_ja}の天気と、{amount}{source_ja}が{target_ja}でいくらかを調べて。"
    else:
        prompt = f"I'm flying to {city}: check the weather there now and convert {amount} {source_en} to {target_en}."
    return prompt, calls


# Generators with their weights: single calls dominate, as they do in real traffic.
GENERATORS: list[tuple[Callable[[random.Random, bool], tuple[str, list[Call]]], int]] = [
    (_weather, 4), (_currency, 4), (_event, 4), (_triangle, 2), (_interest, 3), (_translate, 3),
    (_two_cities, 1), (_currency_twice, 1), (_weather_and_currency, 1),
]
TOTAL = 160
VALIDATION = 16


def _record(prompt: str, calls: list[Call]) -> dict[str, Any]:
    rendered = [render(call) for call in calls]
    return {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        "tools": TOOLS,
        "reference_answer": {"ground_truth": rendered[0] if len(rendered) == 1 else rendered},
    }


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(20261202)
    pool = [generator for generator, weight in GENERATORS for _ in range(weight)]
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(records) < TOTAL:
        attempts += 1
        if attempts > 100 * TOTAL:
            raise RuntimeError("too few distinct prompts: widen the value pools")
        prompt, calls = rng.choice(pool)(rng, rng.random() < 0.4)
        if prompt in seen:
            continue
        seen.add(prompt)
        records.append(_record(prompt, calls))
    rng.shuffle(records)
    return records[VALIDATION:], records[:VALIDATION]
