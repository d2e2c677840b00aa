"""Every Japanese text the service can say reads without a half-width space between Japanese characters
(or next to Japanese punctuation).

Sales staff read these answers to customers. YAML folds a line break in a ``>-`` block into a space, so a
sentence wrapped across lines in a rule file would otherwise carry one (「一覧は 資料にありません」).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import FactsError, Rulebook, load_rulebook
from engine.messages import CATALOGUE
from engine.messages.language import Text, has_space_between_japanese, join_japanese
from engine.paths import PROJECT_ROOT
from engine.rules import partial
from engine.rules.partial.errors import TooManyCombinationsError
from engine.tariff import load_tariffs

DAY = date(2025, 4, 1)


def texts(value: Any, seen: set[int] | None = None) -> Iterator[Text]:
    """Every Text inside a model object (dataclasses, mappings, sequences)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Text):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from texts(getattr(value, field.name), seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item, seen)


def japanese_strings(body: Any) -> Iterator[str]:
    """The strings of an answer's JSON that are texts for people (not facts, codes or citations)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in {"facts", "citation", "cite", "source", "set", "values", "code", "rule"}:
                continue
            if isinstance(value, str):
                yield value
            else:
                yield from japanese_strings(value)
    elif isinstance(body, list):
        for item in body:
            yield from japanese_strings(item)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("一覧は 資料にありません。", "一覧は資料にありません。"),
        ("必要です。 この回線", "必要です。この回線"),
        ("フレッツ 光ネクスト", "フレッツ光ネクスト"),
        ("NTT 東日本の 200 Mb/s 品目", "NTT 東日本の 200 Mb/s 品目"),
        ("「別記1」 の区域", "「別記1」の区域"),
        # next to Japanese punctuation a space goes whatever is on its other side
        ("ありません。 NTT東日本に確認してください", "ありません。NTT東日本に確認してください"),
        ("当たらないため、 NTT東日本は", "当たらないため、NTT東日本は"),
        ("（ 200Mb/s品目 ）", "（200Mb/s品目）"),
        ("第11条の2 1項（第13条3項: 光コラボ）", "第11条の2 1項（第13条3項: 光コラボ）"),
    ],
)
def test_spaces_between_japanese_characters_go_and_others_stay(written: str, read: str) -> None:
    assert join_japanese(written) == read


def test_a_sentence_folded_across_lines_in_a_rule_file_has_no_gap(
    tmp_path: Path, sample_text: str
) -> None:
    folded = sample_text.replace(
        "message: {ja: 契約者ではない, en: Not the contractor}",
        "message:\n      ja: >-\n        契約者では\n        ありません。\n      en: Not the contractor",
    )
    assert folded != sample_text
    (tmp_path / "sample.yaml").write_text(folded, encoding="utf-8")
    book = load_rulebook(tmp_path / "sample.yaml")
    try:
        rule = book.versions("sample_refusals")[-1].rules[0]
        assert rule.reason.message.ja == "契約者ではありません。"
    finally:
        book.close()


def test_the_bundled_rules_tariffs_and_catalogue_have_none(bundled_rulebook: Rulebook) -> None:
    found = [t.ja for rs in bundled_rulebook.all_rulesets() for t in texts(rs)]
    found += [s.title for rs in bundled_rulebook.all_rulesets() for s in rs.sources]
    tariffs = load_tariffs(PROJECT_ROOT / "tariffs")
    found += [t.ja for tariff in tariffs.tariffs for t in texts(tariff)]
    found += [t.ja for t in CATALOGUE.values()]
    assert len(found) > 1000
    assert [t for t in found if has_space_between_japanese(t)] == []


def test_partial_answers_and_whatifs_in_japanese_have_none(bundled_rulebook: Rulebook) -> None:
    """The texts the service composes itself: conditions on unknown facts, gaps, changes."""
    rng = random.Random(7)
    for ruleset_id in bundled_rulebook.ids():
        rs = bundled_rulebook.versions(ruleset_id)[-1]
        day = DAY if rs.in_force(DAY) else rs.effective_from
        for example in rs.examples[:3]:
            unknown = rng.sample([f.name for f in rs.facts], k=min(2, len(rs.facts)))
            facts = {k: v for k, v in example.facts.items() if k not in unknown}
            for names, whatif in ((unknown, False), ((), True)):
                try:
                    decision = partial.decide(
                        bundled_rulebook, ruleset_id, facts, names, day, whatif
                    )
                except (FactsError, TooManyCombinationsError):  # refused: it says nothing
                    continue
                body = decision.to_dict("ja")
                bad = [s for s in japanese_strings(body) if has_space_between_japanese(s)]
                assert bad == [], (ruleset_id, json.dumps(body, ensure_ascii=False)[:400])


def test_no_english_text_calls_a_source_document_the_seed(bundled_rulebook: Rulebook) -> None:
    """English texts say "the source documents" (or the document's name): "seed" is the project's
    word for the files, not the customer's (issue 17, "Text a customer hears")."""
    found = [t.en for rs in bundled_rulebook.all_rulesets() for t in texts(rs)]
    tariffs = load_tariffs(PROJECT_ROOT / "tariffs")
    found += [t.en for tariff in tariffs.tariffs for t in texts(tariff)]
    found += [t.en for t in CATALOGUE.values()]
    found += [p.note for rs in bundled_rulebook.all_rulesets() for p in rs.parameters]
    assert [t for t in found if re.search(r"\bseeds?\b", t, re.IGNORECASE)] == []
