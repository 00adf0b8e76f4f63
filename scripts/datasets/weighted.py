"""The weighted task's example dataset: explanations within a character limit, judged for quality.

The default weighted task is char-limit x llm-judge: each record states its limit (in the prompt and in
``char_limit``) and carries a reference explanation for the judge, itself within the limit.
"""

from __future__ import annotations

import random
from typing import Any

# (topic, reference explanation): each reference is at most 30 characters, the smallest limit used.
TOPICS = [
    ("光合成", "植物が光で二酸化炭素と水から糖を作る働き。"),
    ("地震", "地下の岩盤がずれて地面が揺れる現象。"),
    ("虹", "太陽光が雨粒で屈折・反射して色に分かれたもの。"),
    ("台風", "熱帯の海上で発達した強い低気圧。"),
    ("円安", "他の通貨に対して円の価値が下がること。"),
    ("ワクチン", "病気への免疫を前もって作るための製剤。"),
    ("ブロックチェーン", "取引記録を改ざんしにくく分散して保存する技術。"),
    ("クラウド", "ネット経由で計算資源を必要な分だけ使う仕組み。"),
    ("暗号化", "第三者に読めないようデータを変換すること。"),
    ("機械学習", "データから規則を学び予測する技術。"),
    ("再生可能エネルギー", "太陽光や風力など枯渇しないエネルギー。"),
    ("インフレ", "物価が継続的に上がり通貨の価値が下がること。"),
    ("量子コンピュータ", "量子の重ね合わせで計算するコンピュータ。"),
    ("温室効果", "大気が地表の熱を逃がしにくくする働き。"),
    ("免疫", "体が病原体を見分けて排除する仕組み。"),
    ("日食", "月が太陽を隠して見えなくなる現象。"),
    ("潮の満ち引き", "主に月の引力で海面が上下する現象。"),
    ("DNA", "生物の遺伝情報を記録する分子。"),
    ("半導体", "電気を通す度合いを制御できる物質。"),
    ("GPS", "衛星の電波で現在地を測る仕組み。"),
    ("株式", "会社の所有権を小さく分けた証券。"),
    ("金利", "お金を借りる対価として払う割合。"),
    ("消費税", "商品やサービスの購入時にかかる税金。"),
    ("選挙", "代表者を投票で選ぶ仕組み。"),
    ("俳句", "五七五の十七音で季節を詠む短い詩。"),
    ("茶道", "作法に沿って茶をたて客をもてなす伝統文化。"),
    ("発酵", "微生物が食品を分解し別の物質に変える働き。"),
    ("蒸発", "液体が表面から気体に変わる現象。"),
    ("重力", "質量を持つ物どうしが引き合う力。"),
    ("摩擦", "接する面どうしの動きを妨げる力。"),
    ("酸性雨", "大気汚染物質が溶けて酸性になった雨。"),
    ("オーロラ", "太陽風の粒子が大気を光らせる現象。"),
    ("ビタミン", "体の働きを保つために少量必要な栄養素。"),
    ("ウイルス", "生物の細胞を使って増える微小な粒子。"),
    ("活火山", "最近噴火したか、今も活動している火山。"),
    ("国際連合", "平和と協力のために各国が集まる国際機関。"),
    ("印象派", "光の移ろいを明るい色彩で描いた絵画の流派。"),
    ("民主主義", "国民が主権を持ち政治を決める考え方。"),
    ("ストレス", "心身にかかる負担と、それへの反応。"),
    ("睡眠", "心身を休め記憶を整理する休息状態。"),
]
# Phrasings of the instruction, as teams write them: the limit is always stated.
PHRASINGS = [
    "{topic}とは何か、{limit}文字以内で説明して。",
    "{topic}について{limit}字以内で簡潔に教えてください。",
    "{limit}文字以内で、{topic}を小学生にもわかるように説明して。",
]
LIMITS = (30, 40, 60)


def _record(prompt: str, limit: int, reference: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}], "char_limit": limit, "reference_answer": reference}


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(9)
    records = []
    for topic, reference in TOPICS:
        for phrasing in PHRASINGS:
            limit = rng.choice(LIMITS)
            records.append(_record(phrasing.format(topic=topic, limit=limit), limit, reference))
    rng.shuffle(records)
    return records[12:], records[:12]
