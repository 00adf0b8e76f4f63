"""The json-schema example dataset: extract an order, a contact, a meeting or a reservation as JSON.

Each record is a short generated text (English or Japanese) to turn into JSON that follows the
record's ``schema`` (also shown in the prompt), with the JSON the model should give as
``reference_answer``. The texts carry what takes more than copying: prices written "$12.50" or
"1,200円", totals to add up, dates and 12-hour times to rewrite as ISO dates and 24-hour times,
missing details to give as null. Every reference is computed from the values the text was built
from, and ``build`` checks each record with the task itself: the schema is valid, the reference
validates against it, and the reference given as the answer scores 1.0.
"""

from __future__ import annotations

import calendar
import datetime
import json
import random
from collections.abc import Callable
from typing import Any

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.tasks import load_task

TRAINING_RECORDS = 150
VALIDATION_RECORDS = 30
SEED = 20261201

SYSTEM = (
    "You extract structured data from text. Reply with one JSON value that validates against the given "
    "JSON Schema and nothing else: no explanation, no code fence needed."
)

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
HOUR_MINUTE = r"^([01]\d|2[0-3]):[0-5]\d$"

FIRST_NAMES = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mason", "Chloe",
               "Daniel", "Grace", "Henry", "Isla", "Jacob", "Nora", "Owen", "Ruby", "Samuel"]
LAST_NAMES = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Clark",
              "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams"]
COMPANIES = ["Northwind Traders", "Blue Harbor Foods", "Acme Robotics", "Lumen Labs", "Cedar & Sons",
             "Brightline Media", "Summit Outfitters", "Quartz Analytics", "Maple Street Bakery", "Orbit Logistics"]
DOMAINS = ["example.com", "example.org", "example.net"]
JOB_TITLES = ["purchasing manager", "head of operations", "sales director", "office manager", "lead engineer",
              "account executive", "product designer", "finance analyst"]
EN_PRODUCTS = [("notebook", 349), ("ballpoint pen", 125), ("stapler", 899), ("desk lamp", 2450),
               ("USB cable", 675), ("coffee mug", 1050), ("mouse pad", 499), ("sticky notes pack", 275),
               ("whiteboard marker", 150), ("paper ream", 799), ("monitor stand", 3999), ("headset", 5490)]
ROOMS = ["Room 101", "Room 204", "the Aurora room", "the Cedar room", "the main boardroom", "Room 3B"]
MEETING_TITLES = ["Quarterly planning", "Budget review", "Design critique", "Hiring sync", "Launch retrospective",
                  "Customer feedback review", "Security briefing", "Roadmap workshop"]

JA_SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田"]
JA_GIVEN_NAMES = ["太郎", "花子", "健太", "美咲", "翔", "陽菜", "大輔", "さくら", "拓海", "結衣"]
JA_PRODUCTS = [("りんご", 150), ("みかん", 80), ("食パン", 320), ("緑茶", 540), ("牛乳", 230),
               ("卵パック", 280), ("醤油", 398), ("お米5kg", 2180), ("コーヒー豆", 1200), ("はちみつ", 950)]
JA_COURSES = ["おまかせコース", "季節の会席", "ランチセット", "ディナーコース", "飲み放題プラン"]

ORDER_SCHEMA_ITEMS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "product": {"type": "string", "minLength": 1},
            "quantity": {"type": "integer", "minimum": 1},
            "unit_price": {"type": "number", "minimum": 0},
        },
        "required": ["product", "quantity", "unit_price"],
        "additionalProperties": False,
    },
}


def order_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "customer": {"type": "string", "minLength": 1},
            "items": ORDER_SCHEMA_ITEMS,
            "total": {"type": "number", "minimum": 0},
            "delivery_date": {"type": "string", "pattern": ISO_DATE},
        },
        "required": ["customer", "items", "total", "delivery_date"],
        "additionalProperties": False,
    }


def a_date(rng: random.Random) -> datetime.date:
    return datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365))


def en_date(day: datetime.date) -> str:
    return f"{calendar.month_name[day.month]} {day.day}, {day.year}"


def ja_date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def dollars(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def en_order(rng: random.Random) -> tuple[str, dict[str, Any], Any]:
    customer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    company = rng.choice(COMPANIES)
    lines = [(name, rng.randint(1, 12), cents) for name, cents in rng.sample(EN_PRODUCTS, rng.randint(1, 3))]
    day = a_date(rng)
    wanted = [f"{quantity} x {name} at {dollars(cents)} each" for name, quantity, cents in lines]
    text = (f"Hello, this is {customer} from {company}. Please send us {'; '.join(wanted)}. "
            f"We need everything delivered by {en_date(day)}. Thanks!")
    reference = {
        "customer": customer,
        "items": [{"product": name, "quantity": quantity, "unit_price": cents / 100}
                  for name, quantity, cents in lines],
        "total": sum(quantity * cents for _, quantity, cents in lines) / 100,
        "delivery_date": day.isoformat(),
    }
    instruction = ("Extract the order below as JSON: the customer's name, each item (unit price in dollars), "
                   "the order total in dollars and the delivery date as YYYY-MM-DD.")
    return instruction + "\n\n" + text, order_schema(), reference


def ja_order(rng: random.Random) -> tuple[str, dict[str, Any], Any]:
    customer = rng.choice(JA_SURNAMES) + rng.choice(JA_GIVEN_NAMES)
    lines = [(name, rng.randint(1, 10), yen) for name, yen in rng.sample(JA_PRODUCTS, rng.randint(1, 3))]
    day = a_date(rng)
    wanted = "、".join(f"{name}を{quantity}個（1個{yen:,}円）" for name, quantity, yen in lines)
    text = f"{customer}です。{wanted}注文します。{ja_date(day)}までに届けてください。"
    reference = {
        "customer": customer,
        "items": [{"product": name, "quantity": quantity, "unit_price": yen} for name, quantity, yen in lines],
        "total": sum(quantity * yen for _, quantity, yen in lines),
        "delivery_date": day.isoformat(),
    }
    instruction = ("次の注文をJSONとして抽出してください。注文者の名前、各商品（単価は円）、合計金額（円）、"
                   "配達日（YYYY-MM-DD形式）を含めてください。")
    return instruction + "\n\n" + text, order_schema(), reference


def en_contact(rng: random.Random) -> tuple[str, dict[str, Any], Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company, title = rng.choice(COMPANIES), rng.choice(JOB_TITLES)
    email = f"{first.lower()}.{last.lower()}@{rng.choice(DOMAINS)}"
    phone = f"+1-555-01{rng.randint(0, 99):02d}" if rng.random() < 0.6 else None
    reach = f"Email: {email}" + (f", phone {phone}." if phone else ". No phone number was given.")
    text = f"Please get in touch with {first} {last}, {title} at {company}. {reach}"
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "title": {"type": "string"},
            "company": {"type": "string"},
            "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]+$"},
            "phone": {"type": ["string", "null"]},
        },
        "required": ["name", "title", "company", "email", "phone"],
        "additionalProperties": False,
    }
    reference = {"name": f"{first} {last}", "title": title, "company": company, "email": email, "phone": phone}
    instruction = "Extract the contact details below as JSON. Use null for anything the text does not give."
    return instruction + "\n\n" + text, schema, reference


def en_meeting(rng: random.Random) -> tuple[str, dict[str, Any], Any]:
    organizer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    title, room = rng.choice(MEETING_TITLES), rng.choice(ROOMS)
    day = a_date(rng)
    hour, minute = rng.randint(8, 17), rng.choice([0, 15, 30, 45])
    clock = f"{(hour - 1) % 12 + 1}:{minute:02d} {'am' if hour < 12 else 'pm'}"
    attendees = rng.sample([f"{name} {rng.choice(LAST_NAMES)}" for name in FIRST_NAMES], rng.randint(1, 4))
    people = attendees[0] if len(attendees) == 1 else ", ".join(attendees[:-1]) + " and " + attendees[-1]
    text = (f"{organizer} has scheduled \"{title}\" for {calendar.day_name[day.weekday()]}, {en_date(day)} "
            f"at {clock} in {room}. Invited: {people}.")
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1},
            "organizer": {"type": "string"},
            "date": {"type": "string", "pattern": ISO_DATE},
            "start_time": {"type": "string", "pattern": HOUR_MINUTE},
            "room": {"type": "string"},
            "attendees": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["title", "organizer", "date", "start_time", "room", "attendees"],
        "additionalProperties": False,
    }
    reference = {"title": title, "organizer": organizer, "date": day.isoformat(),
                 "start_time": f"{hour:02d}:{minute:02d}", "room": room, "attendees": attendees}
    instruction = ("Extract the meeting below as JSON: the date as YYYY-MM-DD, the start time as 24-hour HH:MM, "
                   "the attendees in the order the text lists them (not the organizer).")
    return instruction + "\n\n" + text, schema, reference


def ja_reservation(rng: random.Random) -> tuple[str, dict[str, Any], Any]:
    name = rng.choice(JA_SURNAMES)
    day = a_date(rng)
    hour, minute = rng.randint(11, 21), rng.choice([0, 30])
    party = rng.randint(1, 8)
    smoking = rng.random() < 0.3
    course = rng.choice(JA_COURSES) if rng.random() < 0.7 else None
    clock = f"{hour}時" + (f"{minute}分" if minute else "")
    text = (f"{name}様、{ja_date(day)}{clock}から{party}名様でご予約を承りました。"
            f"{'喫煙席' if smoking else '禁煙席'}をご用意します。"
            + (f"ご注文は{course}です。" if course else "コースは当日お決めいただきます。"))
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "date": {"type": "string", "pattern": ISO_DATE},
            "time": {"type": "string", "pattern": HOUR_MINUTE},
            "party_size": {"type": "integer", "minimum": 1, "maximum": 20},
            "smoking": {"type": "boolean"},
            "course": {"type": ["string", "null"]},
        },
        "required": ["name", "date", "time", "party_size", "smoking", "course"],
        "additionalProperties": False,
    }
    reference = {"name": name, "date": day.isoformat(), "time": f"{hour:02d}:{minute:02d}", "party_size": party,
                 "smoking": smoking, "course": course}
    instruction = ("次の予約内容をJSONとして抽出してください。名前は「様」を除いた名字、日付はYYYY-MM-DD、"
                   "時刻は24時間表記のHH:MM、喫煙席ならsmokingはtrue、コースが決まっていなければcourseはnull。")
    return instruction + "\n\n" + text, schema, reference


TEMPLATES: list[Callable[[random.Random], tuple[str, dict[str, Any], Any]]] = [
    en_order, ja_order, en_contact, en_meeting, ja_reservation,
]


def record(prompt: str, schema: dict[str, Any], reference: Any) -> dict[str, Any]:
    schema_text = json.dumps(schema, ensure_ascii=False)
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{prompt}\n\nJSON Schema:\n{schema_text}"},
        ],
        "schema": schema,
        "reference_answer": reference,
    }


def verify(records: list[dict[str, Any]]) -> None:
    """Every record is what the task can score, and its reference is the answer that scores 1.0."""
    task = load_task("json-schema")
    for index, item in enumerate(records):
        problems = task.check_record(item)
        if problems:
            raise AssertionError(f"record {index}: {'; '.join(problems)}")
    samples = [
        {"id": index, "messages": [*item["messages"], {"role": "assistant", "content": json.dumps(
            item["reference_answer"], ensure_ascii=False)}], **{k: v for k, v in item.items() if k != "messages"}}
        for index, item in enumerate(records)
    ]
    for result in grade_batch(samples, task):
        if result["aggregate_reward_score"] != 1.0:
            raise AssertionError(f"record {result['id']}: its reference_answer scores {result}")


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(SEED)
    seen: set[str] = set()
    generated: list[dict[str, Any]] = []
    total = TRAINING_RECORDS + VALIDATION_RECORDS
    while len(generated) < total:
        template = TEMPLATES[len(generated) % len(TEMPLATES)]
        prompt, schema, reference = template(rng)
        if prompt in seen:
            continue
        seen.add(prompt)
        generated.append(record(prompt, schema, reference))
    verify(generated)
    return generated[:TRAINING_RECORDS], generated[TRAINING_RECORDS:]
