"""The exact-match example dataset: short questions with one right answer (capitals, symbols, sums).

Prompts ask for the bare answer, so a model that adds prose learns to drop it; every reference is
computed or taken from the tables below.
"""

from __future__ import annotations

import random
from typing import Any

SYSTEM = "Answer with the answer only: no sentence, no explanation."
CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
    ("Canada", "Ottawa"), ("Australia", "Canberra"), ("Brazil", "Brasília"), ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"), ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"),
    ("Portugal", "Lisbon"), ("Greece", "Athens"), ("Peru", "Lima"), ("Chile", "Santiago"),
    ("Argentina", "Buenos Aires"), ("Mexico", "Mexico City"), ("India", "New Delhi"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("South Korea", "Seoul"), ("Poland", "Warsaw"),
    ("Austria", "Vienna"), ("Ireland", "Dublin"), ("Hungary", "Budapest"), ("Turkey", "Ankara"),
    ("New Zealand", "Wellington"), ("Morocco", "Rabat"),
]
CAPITALS_JA = [
    ("フランス", "パリ"), ("イタリア", "ローマ"), ("ドイツ", "ベルリン"), ("スペイン", "マドリード"),
    ("イギリス", "ロンドン"), ("中国", "北京"), ("韓国", "ソウル"), ("タイ", "バンコク"),
    ("エジプト", "カイロ"), ("ロシア", "モスクワ"), ("カナダ", "オタワ"), ("ギリシャ", "アテネ"),
]
ELEMENTS = [
    ("hydrogen", "H"), ("helium", "He"), ("carbon", "C"), ("nitrogen", "N"), ("oxygen", "O"),
    ("sodium", "Na"), ("iron", "Fe"), ("gold", "Au"), ("silver", "Ag"), ("copper", "Cu"),
    ("lead", "Pb"), ("tin", "Sn"), ("potassium", "K"), ("calcium", "Ca"), ("neon", "Ne"),
]


def _record(prompt: str, answer: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        "reference_answer": answer,
    }


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(20261201)
    records = [_record(f"What is the capital of {country}?", city) for country, city in CAPITALS]
    records += [_record(f"{country}の首都はどこですか?", city) for country, city in CAPITALS_JA]
    records += [_record(f"What is the chemical symbol of {name}?", symbol) for name, symbol in ELEMENTS]
    sums: set[tuple[int, int]] = set()
    while len(sums) < 60:
        sums.add((rng.randint(10, 99), rng.randint(10, 99)))
    for index, (a, b) in enumerate(sorted(sums)):
        if index % 3 == 0:
            records.append(_record(f"{a}かける{b}はいくつですか?数字だけで答えてください。", str(a * b)))
        else:
            records.append(_record(f"What is {a} + {b}?", str(a + b)))
    rng.shuffle(records)
    return records[12:], records[:12]
