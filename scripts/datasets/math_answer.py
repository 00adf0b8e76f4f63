"""The math-answer example dataset: GSM8K-style word problems (English and Japanese) from templates.

Each record is in the shape of AWS's GSM8K sample data: the question with GSM8K's instruction to
give the final answer after "####", and a ``reference_answer`` text that works the problem step by
step (with GSM8K's ``<<48/2=24>>`` calculator notes) and ends ``#### <answer>``. Every answer is
computed here, in exact arithmetic, and checked (whole where the question counts things, positive
where it must be) before it is written.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

INSTRUCTION = "Let's think step by step and output the final answer after \"####\"."
INSTRUCTION_JA = "ステップごとに考えて、最後の答えを「####」の後に数字で書いてください。"
NAMES = [
    ("Natalia", "she", "her"), ("Weng", "she", "her"), ("Betty", "she", "her"), ("Julie", "she", "her"),
    ("James", "he", "his"), ("Mark", "he", "his"), ("Albert", "he", "his"), ("Tina", "she", "her"),
    ("Tobias", "he", "his"), ("Randy", "he", "his"), ("Jasper", "he", "his"), ("Joy", "she", "her"),
    ("Priya", "she", "her"), ("Omar", "he", "his"), ("Lena", "she", "her"), ("Diego", "he", "his"),
]
NAMES_JA = ["さくら", "ゆうと", "はると", "あおい", "りく", "ひな", "そうた", "めい", "けんた", "みお"]
NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
ITEMS = ["clips", "stickers", "bracelets", "cupcakes", "postcards", "keychains"]

# A template: (question, steps, answer) from a random source.
Problem = tuple[str, list[str], Fraction]
Template = Callable[[random.Random], Problem]


def show(value: Fraction | int) -> str:
    """A number as GSM8K writes it: 72, 7.5, -3 (never 7.50 or 72.0)."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    assert Fraction(text) == value, f"{value} is not a short decimal"
    return text


_OPERATORS: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def evaluate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression of numbers, + - * / and parentheses."""

    def value(node: ast.expr) -> Fraction:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(f"not arithmetic: {ast.dump(node)}")

    return value(ast.parse(expression, mode="eval").body)


def note(expression: str, value: Fraction | int) -> str:
    """GSM8K's calculator note, ``48/2 = <<48/2=24>>24``, once the expression is checked to give ``value``."""
    assert evaluate(expression) == value, f"{expression} is not {value}"
    return f"{expression} = <<{expression}={show(value)}>>{show(value)}"


def whole(value: Fraction) -> Fraction:
    assert value.denominator == 1 and value >= 0, f"expected a whole count, got {value}"
    return value


def _person(rng: random.Random) -> tuple[str, str, str]:
    return rng.choice(NAMES)


def half_as_many(rng: random.Random) -> Problem:
    name, _, possessive = _person(rng)
    item = rng.choice(ITEMS)
    april = 2 * rng.randint(10, 60)
    may = Fraction(april, 2)
    total = whole(april + may)
    question = (f"{name} sold {item} to {april} of {possessive} friends in April, and then sold half as "
                f"many {item} in May. How many {item} did {name} sell altogether in April and May?")
    steps = [f"{name} sold {note(f'{april}/2', may)} {item} in May.",
             f"{name} sold {note(f'{april}+{show(may)}', total)} {item} altogether in April and May."]
    return question, steps, total


def babysitting(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    minutes = rng.choice([15, 20, 30, 40, 45, 50])
    rate = rng.choice([6, 9, 12, 15, 18, 24])
    earned = Fraction(rate * minutes, 60)
    question = (f"{name} earns ${rate} an hour for babysitting. Yesterday, {pronoun} did {minutes} minutes of "
                f"babysitting. How much did {pronoun} earn, in dollars?")
    per_minute = Fraction(rate, 60)
    steps = [f"{name} earns {note(f'{rate}/60', per_minute)} dollars per minute.",
             f"Working {minutes} minutes, {pronoun} earned {note(f'{rate}*{minutes}/60', earned)} dollars."]
    return question, steps, earned


def change_from_bill(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    count, price, pen = rng.randint(2, 6), rng.randint(2, 9), rng.randint(1, 5)
    bill = 50 if count * price + pen < 50 else 100
    notebooks = count * price
    change = whole(Fraction(bill - notebooks - pen))
    question = (f"{name} buys {count} notebooks at ${price} each and a pen for ${pen}. {pronoun.capitalize()} pays "
                f"with a ${bill} bill. How much change, in dollars, does {pronoun} get?")
    steps = [f"The notebooks cost {note(f'{count}*{price}', notebooks)} dollars.",
             f"Together with the pen {pronoun} spends {note(f'{notebooks}+{pen}', notebooks + pen)} dollars.",
             f"{pronoun.capitalize()} gets {note(f'{bill}-{notebooks + pen}', change)} dollars in change."]
    return question, steps, change


def eggs(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    laid, breakfast, baking, price = rng.randint(12, 24), rng.randint(2, 4), rng.randint(2, 5), rng.randint(2, 3)
    rest = laid - breakfast - baking
    earned = whole(Fraction(rest * price))
    question = (f"{name}'s ducks lay {laid} eggs per day. {pronoun.capitalize()} eats {breakfast} for breakfast "
                f"every morning and bakes muffins with {baking} every day. {pronoun.capitalize()} sells the rest at "
                f"the farmers' market for ${price} per egg. How much in dollars does {pronoun} make every day?")
    steps = [f"{name} has {note(f'{laid}-{breakfast}-{baking}', rest)} eggs left to sell.",
             f"{pronoun.capitalize()} makes {note(f'{rest}*{price}', earned)} dollars every day."]
    return question, steps, earned


def reading_pages(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    yesterday = rng.randint(6, 20)
    today = 2 * yesterday
    read = yesterday + today
    book = read + 2 * rng.randint(10, 60)
    remaining = book - read
    tomorrow = whole(Fraction(remaining, 2))
    question = (f"{name} is reading a book of {book} pages. Yesterday, {pronoun} read {yesterday} pages and today, "
                f"{pronoun} read twice as many pages as yesterday. If {pronoun} wants to read half of the remaining "
                f"pages tomorrow, how many pages should {pronoun} read?")
    steps = [f"Today {pronoun} read {note(f'{yesterday}*2', today)} pages.",
             f"So far {pronoun} has read {note(f'{yesterday}+{today}', read)} pages.",
             f"There are {note(f'{book}-{read}', remaining)} pages left.",
             f"Tomorrow {pronoun} should read {note(f'{remaining}/2', tomorrow)} pages."]
    return question, steps, tomorrow


def letters(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    pages, friends, times = rng.randint(2, 5), rng.randint(2, 4), rng.randint(1, 3)
    per_week = pages * friends * times
    yearly = whole(Fraction(per_week * 52))
    times_text = {1: "once", 2: "twice", 3: "three times"}[times]
    question = (f"{name} writes a {pages}-page letter to {friends} different friends {times_text} a week. "
                f"How many pages does {pronoun} write a year?")
    steps = [f"{pronoun.capitalize()} writes each friend {note(f'{pages}*{times}', pages * times)} pages a week.",
             f"So {pronoun} writes {note(f'{pages * times}*{friends}', per_week)} pages every week.",
             f"That means {pronoun} writes {note(f'{per_week}*52', yearly)} pages a year."]
    return question, steps, yearly


def discount(rng: random.Random) -> Problem:
    percent = rng.choice([10, 15, 20, 25, 30, 40, 50])
    price = rng.choice([20, 40, 60, 80, 120, 140, 160, 180, 200, 240])
    item = rng.choice(["jacket", "pair of boots", "backpack", "lamp", "guitar"])
    off = Fraction(price * percent, 100)
    sale = price - off
    question = (f"A {item} costs ${price}. This week it is on sale for {percent}% off. How much does the {item} "
                f"cost on sale, in dollars?")
    steps = [f"The discount is {note(f'{price}*{percent}/100', off)} dollars.",
             f"The {item} costs {note(f'{price}-{show(off)}', sale)} dollars on sale."]
    return question, steps, sale


def train_trip(rng: random.Random) -> Problem:
    first, second = rng.choice([60, 70, 80, 90, 120]), rng.choice([40, 50, 75, 100])
    hours_1, hours_2 = rng.randint(2, 5), rng.randint(1, 3)
    leg_1, leg_2 = first * hours_1, second * hours_2
    total = whole(Fraction(leg_1 + leg_2))
    question = (f"A train travels at {first} kilometers per hour for {hours_1} hours, then at {second} kilometers "
                f"per hour for {hours_2} hour{'s' if hours_2 > 1 else ''}. How many kilometers does the train "
                "travel in total?")
    steps = [f"The first part is {note(f'{first}*{hours_1}', leg_1)} kilometers.",
             f"The second part is {note(f'{second}*{hours_2}', leg_2)} kilometers.",
             f"In total the train travels {note(f'{leg_1}+{leg_2}', total)} kilometers."]
    return question, steps, total


def ages(rng: random.Random) -> Problem:
    name, _, possessive = _person(rng)
    age, factor, years = rng.randint(4, 12), rng.randint(2, 4), rng.randint(3, 10)
    aunt = age * factor
    total = whole(Fraction(age + years + aunt + years))
    question = (f"{name} is {age} years old. {possessive.capitalize()} aunt is {factor} times as old as {name}. "
                f"In {years} years, what will be the sum of their ages?")
    steps = [f"{possessive.capitalize()} aunt is {note(f'{age}*{factor}', aunt)} years old.",
             f"In {years} years {name} will be {note(f'{age}+{years}', age + years)} and the aunt "
             f"{note(f'{aunt}+{years}', aunt + years)}.",
             f"The sum of their ages will be {note(f'{age + years}+{aunt + years}', total)}."]
    return question, steps, total


def fencing(rng: random.Random) -> Problem:
    length, width, cost = rng.randint(8, 30), rng.randint(4, 20), rng.randint(3, 12)
    perimeter = 2 * (length + width)
    total = whole(Fraction(perimeter * cost))
    question = (f"A rectangular garden is {length} meters long and {width} meters wide. Fencing costs ${cost} per "
                f"meter. How much will it cost, in dollars, to put a fence around the whole garden?")
    steps = [f"The perimeter is {note(f'2*({length}+{width})', perimeter)} meters.",
             f"The fence costs {note(f'{perimeter}*{cost}', total)} dollars."]
    return question, steps, total


def dinner_tip(rng: random.Random) -> Problem:
    friends, tip = rng.choice([2, 4, 5]), rng.choice([10, 15, 20])
    bill = rng.choice([40, 60, 80, 100, 120, 160, 200])
    tip_amount = Fraction(bill * tip, 100)
    each = Fraction(bill + tip_amount, friends)
    question = (f"{NUMBER_WORDS[friends]} friends share a dinner bill of ${bill}. They add a {tip}% tip and split "
                "the total evenly. How much does each friend pay, in dollars?")
    steps = [f"The tip is {note(f'{bill}*{tip}/100', tip_amount)} dollars.",
             f"The total is {note(f'{bill}+{show(tip_amount)}', bill + tip_amount)} dollars.",
             f"Each friend pays {note(f'{show(bill + tip_amount)}/{friends}', each)} dollars."]
    return question, steps, each


def saving_weeks(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    weekly = rng.choice([5, 8, 10, 12, 15, 20])
    weeks = rng.randint(3, 15)
    have = rng.randint(1, 8) * 5
    cost = have + weekly * weeks
    thing = rng.choice(["bike", "skateboard", "video game", "telescope"])
    needed = cost - have
    answer = whole(Fraction(needed, weekly))
    question = (f"{name} wants to buy a {thing} that costs ${cost}. {pronoun.capitalize()} already has ${have} "
                f"and saves ${weekly} each week. How many weeks will it take {name} to have exactly enough money?")
    steps = [f"{pronoun.capitalize()} still needs {note(f'{cost}-{have}', needed)} dollars.",
             f"It will take {note(f'{needed}/{weekly}', answer)} weeks."]
    return question, steps, answer


def cookies(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    trays, per_tray = rng.randint(2, 5), rng.choice([12, 15, 18, 20, 24])
    friends, each = rng.randint(3, 6), rng.randint(2, 5)
    baked, given = trays * per_tray, friends * each
    left = whole(Fraction(baked - given))
    question = (f"{name} bakes {trays} trays of cookies with {per_tray} cookies on each tray. {pronoun.capitalize()} "
                f"gives {each} cookies to each of {friends} friends. How many cookies does {name} have left?")
    steps = [f"{pronoun.capitalize()} bakes {note(f'{trays}*{per_tray}', baked)} cookies.",
             f"{pronoun.capitalize()} gives away {note(f'{friends}*{each}', given)} cookies.",
             f"{name} has {note(f'{baked}-{given}', left)} cookies left."]
    return question, steps, left


def commute(rng: random.Random) -> Problem:
    denominator = rng.choice([3, 4, 5])
    students = denominator * rng.randint(5, 10)
    walk = Fraction(students, denominator)
    rest = students - walk
    bikes = rng.randint(1, int(rest) - 1)
    bus = whole(rest - bikes)
    fraction_word = {3: "One third", 4: "One quarter", 5: "One fifth"}[denominator]
    question = (f"A class has {students} students. {fraction_word} of them walk to school, and {bikes} of the "
                f"others ride bikes. The rest take the bus. How many students take the bus?")
    steps = [f"{note(f'{students}/{denominator}', walk)} students walk.",
             f"{note(f'{students}-{show(walk)}', rest)} students do not walk.",
             f"{note(f'{show(rest)}-{bikes}', bus)} students take the bus."]
    return question, steps, bus


def water_tank(rng: random.Random) -> Problem:
    capacity = rng.choice([200, 400, 500, 800, 1000, 1200])
    percent = rng.choice([20, 25, 40, 60, 75])
    water = Fraction(capacity * percent, 100)
    missing = whole(capacity - water)
    question = (f"A water tank holds {capacity:,} liters when full. It is {percent}% full. How many more liters "
                f"are needed to fill it?")
    steps = [f"The tank holds {note(f'{capacity}*{percent}/100', water)} liters now.",
             f"It needs {note(f'{capacity}-{show(water)}', missing)} more liters."]
    return question, steps, missing


def laps(rng: random.Random) -> Problem:
    name, pronoun, _ = _person(rng)
    track, count, days = rng.choice([250, 400, 500]), rng.randint(3, 9), rng.randint(2, 6)
    meters = track * count * days
    kilometers = Fraction(meters, 1000)
    question = (f"{name} runs {count} laps of a {track}-meter track every day for {days} days. How many "
                f"kilometers does {pronoun} run in total?")
    steps = [f"Each day {pronoun} runs {note(f'{track}*{count}', track * count)} meters.",
             f"In {days} days {pronoun} runs {note(f'{track * count}*{days}', meters)} meters.",
             f"That is {note(f'{meters}/1000', kilometers)} kilometers."]
    return question, steps, kilometers


def temperature(rng: random.Random) -> Problem:
    noon = rng.randint(2, 12)
    drop = noon + rng.randint(1, 9)
    midnight = Fraction(noon - drop)
    assert midnight < 0
    question = (f"The temperature was {noon} degrees Celsius at noon. By midnight it had dropped by {drop} "
                f"degrees. What was the temperature at midnight, in degrees Celsius?")
    steps = [f"The temperature at midnight was {note(f'{noon}-{drop}', midnight)} degrees Celsius."]
    return question, steps, midnight


def shopping_ja(rng: random.Random) -> Problem:
    name = rng.choice(NAMES_JA)
    apples, apple_price = rng.randint(2, 6), rng.choice([80, 100, 120, 150])
    juices, juice_price = rng.randint(1, 3), rng.choice([110, 130, 160])
    cost = apples * apple_price + juices * juice_price
    paid = 1000 if cost < 1000 else 2000
    change = whole(Fraction(paid - cost))
    question = (f"{name}さんは1個{apple_price}円のりんごを{apples}個と、1本{juice_price}円のジュースを{juices}本"
                f"買いました。{paid}円払うと、おつりは何円ですか？")
    steps = [f"りんごは {note(f'{apple_price}*{apples}', apples * apple_price)} 円です。",
             f"ジュースは {note(f'{juice_price}*{juices}', juices * juice_price)} 円です。",
             f"合計は {note(f'{apples * apple_price}+{juices * juice_price}', cost)} 円です。",
             f"おつりは {note(f'{paid}-{cost}', change)} 円です。"]
    return question, steps, change


def book_days_ja(rng: random.Random) -> Problem:
    name = rng.choice(NAMES_JA)
    per_day, days = rng.choice([8, 12, 15, 20, 25]), rng.randint(6, 20)
    pages = per_day * days
    answer = whole(Fraction(pages, per_day))
    question = f"{name}さんは{pages}ページの本を、1日に{per_day}ページずつ読みます。読み終わるまでに何日かかりますか？"
    steps = [f"{note(f'{pages}/{per_day}', answer)} 日かかります。"]
    return question, steps, answer


def bicycle_ja(rng: random.Random) -> Problem:
    students = rng.choice([20, 25, 30, 40])
    percent = rng.choice([20, 30, 40, 60]) if students != 25 else rng.choice([20, 40, 60])
    cyclists = whole(Fraction(students * percent, 100))
    question = (f"クラスに{students}人の生徒がいます。そのうち{percent}%が自転車で通学しています。"
                "自転車で通学している生徒は何人ですか？")
    steps = [f"{note(f'{students}*{percent}/100', cyclists)} 人です。"]
    return question, steps, cyclists


def savings_ja(rng: random.Random) -> Problem:
    name = rng.choice(NAMES_JA)
    start, weekly, weeks = rng.choice([500, 1000, 1500]), rng.choice([200, 300, 500]), rng.randint(4, 12)
    saved = weekly * weeks
    total = whole(Fraction(start + saved))
    question = (f"{name}さんは{start}円持っています。これから毎週{weekly}円ずつ貯金します。{weeks}週間後、"
                f"お金は全部で何円になりますか？")
    steps = [f"{weeks}週間で {note(f'{weekly}*{weeks}', saved)} 円貯まります。",
             f"全部で {note(f'{start}+{saved}', total)} 円です。"]
    return question, steps, total


def drive_ja(rng: random.Random) -> Problem:
    first, hours_1 = rng.choice([40, 50, 60, 80]), rng.randint(1, 4)
    second, hours_2 = rng.choice([30, 45, 70]), rng.randint(1, 3)
    total = whole(Fraction(first * hours_1 + second * hours_2))
    question = (f"車で時速{first}kmで{hours_1}時間走り、そのあと時速{second}kmで{hours_2}時間走りました。"
                "全部で何km走りましたか？")
    steps = [f"はじめに {note(f'{first}*{hours_1}', first * hours_1)} km 走りました。",
             f"そのあと {note(f'{second}*{hours_2}', second * hours_2)} km 走りました。",
             f"全部で {note(f'{first * hours_1}+{second * hours_2}', total)} km です。"]
    return question, steps, total


def flowerbed_ja(rng: random.Random) -> Problem:
    length, width = rng.randint(3, 15), rng.randint(2, 9)
    perimeter = whole(Fraction(2 * (length + width)))
    question = f"縦{width}m、横{length}mの長方形の花壇のまわりにロープを1周張ります。ロープは何m必要ですか？"
    steps = [f"まわりの長さは {note(f'2*({length}+{width})', perimeter)} m です。"]
    return question, steps, perimeter


TEMPLATES: list[Template] = [
    half_as_many, babysitting, change_from_bill, eggs, reading_pages, letters, discount, train_trip, ages,
    fencing, dinner_tip, saving_weeks, cookies, commute, water_tank, laps, temperature,
]
TEMPLATES_JA: list[Template] = [shopping_ja, book_days_ja, bicycle_ja, savings_ja, drive_ja, flowerbed_ja]
PER_TEMPLATE = 7
PER_TEMPLATE_JA = 5


def record(problem: Problem, japanese: bool) -> dict[str, Any]:
    question, steps, answer = problem
    prompt = f"{question} {INSTRUCTION_JA if japanese else INSTRUCTION}"
    return {
        "messages": [{"role": "user", "content": prompt}],
        "reference_answer": "\n".join(steps) + f"\n#### {show(answer)}",
    }


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training, validation): every template in both, each prompt once."""
    rng = random.Random(20261215)
    training: list[dict[str, Any]] = []
    validation: list[dict[str, Any]] = []
    seen: set[str] = set()
    for templates, count, japanese in ((TEMPLATES, PER_TEMPLATE, False), (TEMPLATES_JA, PER_TEMPLATE_JA, True)):
        for template in templates:
            made: list[dict[str, Any]] = []
            while len(made) < count:
                item = record(template(rng), japanese)
                prompt = item["messages"][-1]["content"]
                if prompt not in seen:
                    seen.add(prompt)
                    made.append(item)
            validation.append(made[0])
            training.extend(made[1:])
    rng.shuffle(training)
    rng.shuffle(validation)
    return training, validation
