"""Shared fixtures: the bundled rulebook (loaded once) and a builder for small rule files in tmp dirs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import Rulebook, load_rulebook
from engine.paths import PROJECT_ROOT, rules_dir

# Decision-table plans shared by every test process and server the tests start, kept between runs in
# the checkout's test-output/ (never the user's cache): a plan is built once per machine, as in
# production (engine/lifecycle/plan_cache.py). A test that needs its own folder installs one.
os.environ.setdefault("FLETS_PLAN_CACHE", str(PROJECT_ROOT / "test-output" / "plan-cache"))

#: A small but complete rule set exercising every kind of condition; tests vary it.
SAMPLE = """\
ruleset: sample_refusals
version: "1.0"
title: {ja: 見本, en: Sample}
region: ntt_east
effective_from: 2020-01-01
sources:
  - {file: 004_84a0a3d01f54d5ce.txt, title: 規約}
facts:
  contractor:
    type: bool
    label: {ja: 契約者本人, en: Applicant is the contractor}
  units:
    type: int
    label: {ja: 戸数, en: Units}
    min: 0
  prefecture:
    type: enum
    label: {ja: 都道府県, en: Prefecture}
    values:
      tokyo: {ja: 東京都, en: Tokyo}
      osaka: {ja: 大阪府, en: Osaka}
      other: {ja: その他, en: Other}
  applied_on:
    type: date
    label: {ja: 申込日, en: Application date}
    required: false
    default: as_of
  services:
    type: enum_list
    label: {ja: サービス, en: Services}
    values: [tv, phone, support]
    required: false
    default: []
  fee:
    type: money
    label: {ja: 料金, en: Fee}
    required: false
    default: 0
  limit:
    type: money
    label: {ja: 上限, en: Limit}
    required: false
    default: 1000
outcomes:
  refused: {kind: negative, label: {ja: 不可, en: Refused}}
  unknown:
    kind: undecidable
    label: {ja: 判断不可, en: Cannot be decided}
    gap: {missing: {ja: 区域表, en: District list}, ask: {ja: 東日本, en: NTT East}}
  approved: {kind: positive, label: {ja: 可, en: Approved}}
decide: collect
precedence: [refused, unknown, approved]
default:
  outcome: approved
  reason: no_ground
  message: {ja: 該当なし, en: No ground applies}
  cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第8条}
rules:
  - id: not_contractor
    when: {contractor: false}
    outcome: refused
    reason: not_contractor
    message: {ja: 契約者ではない, en: Not the contractor}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第8条2(1)}
  - id: too_few_units
    when: {fact: units, less_than: 6}
    outcome: refused
    reason: too_few_units
    message: {ja: 6戸未満, en: Fewer than 6 units}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別表}
  - id: outside_area
    when: {not: {fact: prefecture, in: [tokyo, osaka]}}
    outcome: refused
    reason: outside_area
    message: {ja: 区域外, en: Outside the area}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別記1}
  - id: osaka_unknown
    when: {prefecture: osaka}
    outcome: unknown
    reason: district_unknown
    message: {ja: 区域不明, en: District list missing}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別記1}
  - id: late
    when: {fact: applied_on, on_or_after: 2023-03-31}
    outcome: refused
    reason: sales_ended
    message: {ja: 販売終了, en: Sales ended}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 料金表}
  - id: only_phone_or_support
    when: {fact: services, only_from: [phone, support]}
    outcome: refused
    reason: only_addons
    message: {ja: 付加のみ, en: Add-ons only}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第5条}
  - id: over_limit
    when:
      any:
        - {fact: fee, greater_than: {fact: limit}}
        - all:
            - {fact: services, includes: tv}
            - {fact: fee, between: [900, 1000]}
    outcome: refused
    reason: over_limit
    message: {ja: 上限超過, en: Over the limit}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第21条}
examples:
  - note: all fine
    as_of: 2023-01-01
    facts: {contractor: true, units: 6, prefecture: tokyo}
    expect: {outcome: approved, reasons: [no_ground]}
  - note: two grounds at once
    as_of: 2023-01-01
    facts: {contractor: false, units: 5, prefecture: tokyo}
    expect: {outcome: refused, reasons: [not_contractor, too_few_units]}
  - note: undecidable loses to a refusal but is still reported
    as_of: 2023-01-01
    facts: {contractor: true, units: 2, prefecture: osaka}
    expect: {outcome: refused, reasons: [too_few_units, district_unknown]}
  - note: undecidable alone
    as_of: 2023-01-01
    facts: {contractor: true, units: 9, prefecture: osaka}
    expect: {outcome: unknown, reasons: [district_unknown]}
  - note: outside and late and add-ons only and over the limit
    as_of: 2023-03-31
    facts: {contractor: true, units: 9, prefecture: other, services: [phone], fee: 1001}
    expect: {outcome: refused, reasons: [outside_area, sales_ended, only_addons, over_limit]}
  - note: tv with a fee in the band
    as_of: 2023-03-30
    facts: {contractor: true, units: 9, prefecture: tokyo, services: [tv, phone], fee: 900}
    expect: {outcome: refused, reasons: [over_limit]}
"""


@pytest.fixture(scope="session")
def bundled_rulebook() -> Iterator[Rulebook]:
    book = load_rulebook(rules_dir())
    yield book
    book.close()


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` as ``name`` in a fresh rules folder and return the file's path."""

    def write(text: str, name: str = "sample.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def sample_path(write_rules: Callable[[str, str], Path]) -> Path:
    return write_rules(SAMPLE, "sample.yaml")


@pytest.fixture
def sample_book(sample_path: Path) -> Iterator[Rulebook]:
    book = load_rulebook(sample_path)
    yield book
    book.close()


@pytest.fixture
def sample_text() -> str:
    return SAMPLE
