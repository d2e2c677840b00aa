"""The clause index: reading it, resolving citations to it, the coverage checks, fingerprints and the
comparison with a new edition (all on small documents made for these tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import main
from engine.format.checker import Checker
from engine.format.clauses import clause_key, read_clause_index, read_index_file, read_index_folder
from engine.format.editions import compare, fingerprints
from engine.format.loader import parse_yaml
from engine.lifecycle.coverage import bundled_coverage
from engine.rules.catalogue import render_catalogue
from engine.rules.rulebook import read_rulesets
from tests.conftest import SAMPLE

TV = "004_84a0a3d01f54d5ce.txt"

INDEX_004 = """\
source: 004_84a0a3d01f54d5ce.txt
clauses:
  - id: "第5条"
    heading: {ja: 申込み, en: Applications}
    status: encoded
  - id: "第8条"
    heading: {ja: 承諾, en: Acceptance}
    status: encoded
  - id: "第8条 2項"
    heading: {ja: 承諾しない場合, en: When refused}
    status: encoded
  - id: "第8条 2項 (1)号"
    heading: {ja: 契約者と同一でない, en: Not the line's contractor}
    status: encoded
  - id: "第9条"
    heading: {ja: 契約内容の変更（略）, en: Changes (omitted)}
    status: not_a_rule
    reason: {ja: 資料では略, en: Omitted in the source}
  - id: "第11条"
    heading: {ja: 譲渡, en: Transfer}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第11条の2 1項"
    heading: {ja: 転用, en: Conversion}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第16条 1項"
    heading: {ja: 中断1, en: Interruption 1}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第16条 2項"
    heading: {ja: 中断2, en: Interruption 2}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第21条"
    heading: {ja: 利用料金, en: Fees}
    status: encoded
  - id: "第21条 2項 (3)号"
    heading: {ja: 利用不能, en: Outage}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第27条 3項"
    heading: {ja: 試験, en: Test}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "別記1"
    heading: {ja: 提供区域, en: Service area}
    status: encoded
  - id: "別記3 (1)"
    heading: {ja: 届出, en: Notices}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "別表"
    heading: {ja: 別表, en: Table}
    status: encoded
  - id: "料金表"
    heading: {ja: 料金表, en: Tariff}
    status: encoded
  - id: "料金表 第1表 1(3)イ"
    heading: {ja: 手数料, en: A fee}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "料金表 利用料金別表 建物一括契約型料金 (2)承諾 ウ"
    heading: {ja: 承諾ウ, en: Acceptance (c)}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "料金表 利用料金別表 建物一括契約型料金 (3)カ"
    heading: {ja: カ, en: (f)}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "料金表 第2表"
    heading: {ja: 工事費, en: Construction}
    status: gap
"""


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    path = folder / "004_84a0a3d01f54d5ce.yaml"
    path.write_text(INDEX_004, encoding="utf-8")
    return path


def _resolve(index_path: Path, text: str) -> list[str]:
    index, diagnostics = read_index_file(index_path)
    assert index is not None, diagnostics
    parts = index.resolve(text)
    return [] if parts is None else [p.clause.id for p in parts]


@pytest.mark.parametrize(
    ("citation", "expected"),
    [
        ("第8条 2項 (1)号", ["第8条 2項 (1)号"]),
        ("第８条２(1)", ["第8条 2項 (1)号"]),  # full-width digits, 項/号 left out
        ("第8条2(1)", ["第8条 2項 (1)号"]),
        ("第8条 2項 (5)号", ["第8条 2項"]),  # the longest id it starts with
        ("第5条 3項; 第8条 2項 (1)号", ["第5条", "第8条 2項 (1)号"]),
        ("第21条2(3) 表2欄、第27条3", ["第21条 2項 (3)号", "第27条 3項"]),
        ("第16条 1項・2項", ["第16条 1項", "第16条 2項"]),  # "2項" read inside 第16条
        ("第11条の2 1項（第11条６の３ → 第11条の3）", ["第11条の2 1項"]),
        ("第11条 3項", ["第11条"]),
        ("第1表 1(3)イ", ["料金表 第1表 1(3)イ"]),  # 料金表 left out
        ("料金表 第1表 1(3)イ 括弧書き", ["料金表 第1表 1(3)イ"]),
        (
            "料金表 利用料金別表 建物一括契約型料金 (3)カ; (2)承諾 ウ",
            [
                "料金表 利用料金別表 建物一括契約型料金 (3)カ",
                "料金表 利用料金別表 建物一括契約型料金 (2)承諾 ウ",
            ],
        ),
        ("別記3 (1)・注", ["別記3 (1)"]),  # 注 is detail
        ("第10条", []),  # 第1条 is not the start of 第10条, and 第10条 is not indexed
    ],
)
def test_every_citation_form_resolves(index_path: Path, citation: str, expected: list[str]) -> None:
    assert _resolve(index_path, citation) == expected


def test_a_name_holding_a_separator_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "001_ded95cce339fcddd.yaml"
    path.write_text(
        """\
source: 001_ded95cce339fcddd.txt
clauses:
  - id: "表紙・奥付"
    heading: {ja: 表紙, en: Cover}
    status: encoded
  - id: "◆①フレッツ・パスポートIDの取得（p.6）"
    heading: {ja: 取得, en: Getting an ID}
    status: encoded
  - id: "◆異動等に伴う各種サービスの取り扱い（p.20）表"
    heading: {ja: 表, en: Table}
    status: encoded
""",
        encoding="utf-8",
    )
    assert _resolve(
        path, "表紙・奥付「西日本電信電話株式会社」発行、◆①フレッツ・パスポートIDの取得（p.6）"
    ) == [
        "表紙・奥付",
        "◆①フレッツ・パスポートIDの取得（p.6）",
    ]
    # と after a quotation joins two references.
    assert _resolve(path, "◆異動等に伴う各種サービスの取り扱い（p.20）表「解約」と 表紙・奥付") == [
        "◆異動等に伴う各種サービスの取り扱い（p.20）表",
        "表紙・奥付",
    ]
    # A guessed parent must end where a word ends: "表" is not the start of "表紙".
    assert _resolve(path, "表紙") == []


@given(st.text(alphabet="第条項号の()（）０１２３4567 89ア注", max_size=20))
def test_the_normal_form_is_stable(text: str) -> None:
    assert clause_key(clause_key(text)) == clause_key(text)


@given(st.integers(1, 60), st.integers(1, 9), st.integers(1, 9))
def test_paragraph_and_item_spellings_agree(article: int, paragraph: int, item: int) -> None:
    full = f"第{article}条 {paragraph}項 ({item})号"
    assert clause_key(f"第{article}条{paragraph}({item})") == clause_key(full)
    wide = full.translate(str.maketrans("0123456789()", "０１２３４５６７８９（）"))
    assert clause_key(wide) == clause_key(full)


WIDE = str.maketrans("0123456789();,", "０１２３４５６７８９（）；，")


@given(
    st.sampled_from(
        [
            "第8条 2項 (1)号",
            "第5条 3項; 第8条 2項 (1)号",
            "第21条2(3) 表2欄、第27条3",
            "料金表 利用料金別表 建物一括契約型料金 (3)カ; (2)承諾 ウ",
            "第1表 1(3)イ",
        ]
    ),
    st.lists(st.integers(0, 60), max_size=4),
    st.booleans(),
)
def test_spacing_and_width_do_not_change_what_a_citation_names(
    citation: str, spaces: list[int], wide: bool
) -> None:
    """The same citation typed with other spaces (not inside a number) or full-width characters."""
    label = f"sources/{Path(TV).stem}.yaml"
    index = read_clause_index(parse_yaml(INDEX_004, label), Checker(label))
    assert index is not None
    expected = [p.clause.id for p in index.resolve(citation) or []]
    varied = citation
    for at in spaces:
        at %= len(varied) + 1
        if not (0 < at < len(varied) and varied[at - 1].isdigit() and varied[at].isdigit()):
            varied = varied[:at] + " " + varied[at:]
    if wide:
        varied = varied.translate(WIDE)
    assert [p.clause.id for p in index.resolve(varied) or []] == expected


# --- the index file's own checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "code", "blamed"),
    [
        (
            '    status: encoded\n  - id: "第8条"\n',
            '  - id: "第8条"\n',
            "missing-key",
            '  - id: "第5条"',
        ),
        ("status: gap", "status: maybe", "bad-value", "status: maybe"),
        (
            "    reason: {ja: 資料では略, en: Omitted in the source}\n",
            "",
            "missing-reason",
            "資料では略",
        ),
        ('id: "第8条 2項 (1)号"', 'id: "第８条 ２項"', "duplicate-id", 'id: "第８条 ２項"'),
        ("status: gap", 'status: gap\n    fingerprint: "md5:1"', "bad-value", "md5:1"),
        ("source: 004_84a0a3d01f54d5ce.txt", "source: 005_x.txt", "unknown-source", "005_x"),
    ],
)
def test_index_mistakes_are_reported_with_their_line(
    index_path: Path, old: str, new: str, code: str, blamed: str
) -> None:
    text = INDEX_004.replace(old, new, 1)
    assert text != INDEX_004
    index_path.write_text(text, encoding="utf-8")
    index, diagnostics = read_index_file(index_path)
    assert index is None
    found = [d for d in diagnostics if d.code == code]
    assert found, diagnostics
    lines = text.split("\n")
    if code == "missing-reason":  # blamed on the status line of the clause that lacks it
        blamed_line = next(i for i, line in enumerate(lines) if 'id: "第9条"' in line) + 3
    else:
        blamed_line = next(i for i, line in enumerate(lines) if blamed in line) + 1
    assert found[0].location.line == blamed_line, found[0]
    assert str(found[0]).startswith(f"{index_path}:{blamed_line}:")


# --- coverage of a rules folder ----------------------------------------------------------------------


def _folders(tmp_path: Path, index_path: Path, rules: str = SAMPLE) -> list[str]:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    (rules_dir / "sample.yaml").write_text(rules, encoding="utf-8")
    return [
        "--rules",
        str(rules_dir),
        "--tariffs",
        str(tmp_path / "no-tariffs"),
        "--sources",
        str(index_path.parent),
    ]


def test_coverage_json_names_the_citing_rules(
    tmp_path: Path, index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["coverage", "--json", *_folders(tmp_path, index_path)])
    report = json.loads(capsys.readouterr().out)
    (source,) = report["sources"]
    assert source["file"] == TV
    rows = {c["id"]: c for c in source["clauses"]}
    assert set(rows["第8条 2項 (1)号"]) >= {"id", "status", "by"}
    assert rows["第8条 2項 (1)号"]["by"][0]["ruleset"] == "sample_refusals"
    assert rows["第8条 2項 (1)号"]["by"][0]["rule"] == "not_contractor"
    assert rows["第9条"]["by"] == []
    # 第8条 2項 is encoded through the item cited inside it
    assert rows["第8条 2項"]["by"] == [] and rows["第8条 2項"]["through"] == ["第8条 2項 (1)号"]
    assert code == 1  # 料金表 第2表 is a gap nothing cites
    assert "'第8条 2項'" not in capsys.readouterr().err


def test_each_coverage_error_names_file_line_and_field(
    tmp_path: Path, index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = SAMPLE.replace("clause: 第21条}", "clause: 第99条}").replace(
        "clause: 第5条}", "clause: 第9条}"
    )
    index_path.write_text(
        INDEX_004
        + '  - id: "第30条"\n    heading: {ja: 未使用, en: Unused}\n    status: encoded\n',
        encoding="utf-8",
    )
    assert main(["coverage", *_folders(tmp_path, index_path, rules)]) == 1
    out = capsys.readouterr().out
    line = next(i for i, text in enumerate(rules.split("\n"), 1) if "第99条" in text)
    assert f"sample.yaml:{line}:" in out and "unknown-clause: '第99条'" in out
    assert "[rules[6].cite.clause]" in out
    assert "clause-not-cited: '第30条' is encoded" in out
    assert "gap-not-cited: '料金表 第2表'" in out
    assert "warning: cited-not-a-rule: '第9条' is marked not_a_rule" in out


def test_an_encoded_clause_no_example_exercises_is_an_error(
    tmp_path: Path, index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = SAMPLE.replace(
        "reasons: [outside_area, sales_ended, only_addons, over_limit]",
        "reasons: [outside_area, sales_ended, only_addons]",
    ).replace("reasons: [over_limit]}", "reasons: [no_ground]}")
    assert main(["coverage", *_folders(tmp_path, index_path, rules)]) == 1
    out = capsys.readouterr().out
    assert (
        "clause-not-exercised: '第21条' is encoded by sample_refusals rule over_limit, "
        "which no example exercises" in out
    )
    assert "clause-not-exercised: '第8条 2項 (1)号'" not in out


def test_a_cited_source_without_an_index_is_an_error(
    tmp_path: Path, index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path.unlink()
    assert main(["coverage", *_folders(tmp_path, index_path)]) == 1
    assert f"no-clause-index: {TV} is cited" in capsys.readouterr().out


# --- revised editions ----------------------------------------------------------------------------------

EDITION = """\
（契約申込の承諾）
第８条　当社は、申込みを受け付けた順序に従って承諾します。
２　当社は、次の場合には承諾しないことがあります。
(1) 申込者が利用回線の契約者と同一の者とならない場合
(2) 技術上著しく困難なとき。
第９条　（略）
第21条　利用料金は料金表に定めるとおりとします。
"""

EDITION_INDEX = """\
source: 004_84a0a3d01f54d5ce.txt
clauses:
  - id: "第8条"
    heading: {ja: 承諾, en: Acceptance}
    status: encoded
  - id: "第8条 2項"
    heading: {ja: 承諾しない場合, en: When refused}
    status: encoded
  - id: "第8条 2項 (1)号"
    heading: {ja: 契約者と同一でない, en: Not the line's contractor}
    status: encoded
  - id: "第8条 2項 (2)号"
    heading: {ja: 技術的困難, en: Technically difficult}
    status: not_a_rule
    reason: {ja: 試験用, en: For the test}
  - id: "第9条"
    heading: {ja: 略, en: Omitted}
    status: not_a_rule
    reason: {ja: 資料では略, en: Omitted in the source}
  - id: "第21条"
    heading: {ja: 利用料金, en: Fees}
    status: encoded
"""


def test_fingerprints_ignore_wrapping_and_width(tmp_path: Path) -> None:
    path = tmp_path / "004_84a0a3d01f54d5ce.yaml"
    path.write_text(EDITION_INDEX, encoding="utf-8")
    index, _ = read_index_file(path)
    assert index is not None
    prints = fingerprints(index, EDITION)
    assert set(prints) == {c.id for c in index.clauses}
    rewrapped = EDITION.replace("承諾しないこと", "承諾しない\nこと").replace("第21条", "第２１条")
    assert fingerprints(index, rewrapped) == prints
    assert all(p.startswith("sha256:") and len(p) == 71 for p in prints.values())


def test_a_new_edition_lists_added_removed_and_changed_with_their_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    index_file = sources / "004_84a0a3d01f54d5ce.yaml"
    index_file.write_text(EDITION_INDEX, encoding="utf-8")
    rules = (
        SAMPLE.replace("clause: 別表}", "clause: 第8条}")
        .replace("clause: 別記1}", "clause: 第21条}")
        .replace("clause: 料金表}", "clause: 第8条}")
        .replace("clause: 第5条}", "clause: 第8条}")
    )
    folders = _folders(tmp_path, index_file, rules)
    old = tmp_path / "old.txt"
    old.write_text(EDITION, encoding="utf-8")
    assert main(["coverage", *folders, "--fingerprint", str(old), "--source", TV]) == 0
    written = index_file.read_text(encoding="utf-8")
    assert written.count('fingerprint: "sha256:') == 6
    # Again, from another edition: the fingerprint lines are rewritten, not added.
    other = tmp_path / "other.txt"
    other.write_text(EDITION.replace("第９条　（略）", "第９条　（削除）"), encoding="utf-8")
    assert main(["coverage", *folders, "--fingerprint", str(other), "--source", TV]) == 0
    rewritten = index_file.read_text(encoding="utf-8")
    assert rewritten.count('fingerprint: "sha256:') == 6
    assert (
        sum(a != b for a, b in zip(written.splitlines(), rewritten.splitlines(), strict=True)) == 1
    )
    assert main(["coverage", *folders, "--fingerprint", str(old), "--source", TV]) == 0
    assert index_file.read_text(encoding="utf-8") == written
    capsys.readouterr()

    new = tmp_path / "new.txt"
    new.write_text(
        EDITION.replace(
            "技術上著しく困難なとき。",
            "技術上著しく困難なとき。\n(3) 料金の支払いを怠るおそれがあるとき。",
        )
        .replace("(1) 申込者が利用回線の契約者と同一の者とならない場合\n", "")
        .replace("第９条　（略）", "第９条　契約者は契約内容の変更を請求できます。")
        + "ただし、\n別記15に定める機関は除きます。\n"  # a wrapped reference, not a new clause
        + "第22条　工事費は料金表に定めるとおりとします。\n",
        encoding="utf-8",
    )
    assert main(["coverage", *folders, "--against", str(new), "--source", TV, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    changed = {c["id"]: c["by"] for c in report["changed"]}
    assert "第9条" in changed and "第8条 2項 (2)号" in changed
    assert [c["id"] for c in report["removed"]] == ["第8条 2項 (1)号"]
    assert report["removed"][0]["by"][0]["rule"] == "not_contractor"
    assert [a["line"] for a in report["added"]] == [
        "第22条　工事費は料金表に定めるとおりとします。"
    ]
    assert report["added"][0]["within"] == "第21条"
    cited_by = {b["rule"] for b in report["added"][0]["by"] if "rule" in b}
    assert cited_by == {"over_limit", "outside_area", "osaka_unknown"}

    assert main(["coverage", *folders, "--against", str(new), "--source", TV]) == 0
    text = capsys.readouterr().out
    assert (
        "removed (1):\n  第8条 2項 (1)号" in text and "sample_refusals rule not_contractor" in text
    )


def test_an_edition_of_an_unindexed_source_is_a_usage_error(
    tmp_path: Path, index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edition = tmp_path / "x.txt"
    edition.write_text("第1条", encoding="utf-8")
    assert main(["coverage", *_folders(tmp_path, index_path), "--against", str(edition)]) == 2
    assert "name the source with --source" in capsys.readouterr().err


def test_the_old_edition_compares_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "004_84a0a3d01f54d5ce.yaml"
    path.write_text(EDITION_INDEX, encoding="utf-8")
    index, _ = read_index_file(path)
    assert index is not None
    prints = fingerprints(index, EDITION)
    text = EDITION_INDEX
    for cid, value in prints.items():
        text = text.replace(f'id: "{cid}"\n', f'id: "{cid}"\n    fingerprint: "{value}"\n', 1)
    path.write_text(text, encoding="utf-8")
    index, _ = read_index_file(path)
    assert index is not None
    diff = compare(index, EDITION)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == ((), (), (), 6)


# --- the bundled index ---------------------------------------------------------------------------------


def test_the_bundled_index_accounts_for_every_citation() -> None:
    coverage = bundled_coverage()
    assert [str(d) for d in coverage.errors] == []
    assert {s.source for s in coverage.sources} >= {
        "000_c149a85d58b4ec2e.txt",
        "001_ded95cce339fcddd.txt",
        "002_c0352445769fc9cf.txt",
        "003_a579988be9a5b70a.txt",
    }


def test_the_catalogue_links_each_clause_to_its_rules(index_path: Path) -> None:
    rules = index_path.parent.parent / "sample.yaml"
    rules.write_text(SAMPLE, encoding="utf-8")
    rulesets, _ = read_rulesets([rules])
    indexes, diagnostics = read_index_folder(index_path.parent)
    assert diagnostics == []
    page = render_catalogue(rulesets, indexes)
    section = page[page.index("## Clauses of the source documents") :]
    assert f"### {TV}" in section
    row = next(line for line in section.splitlines() if line.startswith("| 第8条 2項 (1)号 |"))
    assert "| encoded | Not the line's contractor |" in row
    assert "[`sample_refusals`](#sample-refusals) `not_contractor`" in row
    assert "| 第9条 | not_a_rule |" in section


def test_check_of_the_bundled_folders_fails_on_an_unindexed_citation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "sample.yaml").write_text(
        SAMPLE.replace("clause: 第21条}", "clause: 第999条}"), encoding="utf-8"
    )
    monkeypatch.setenv("FLETS_RULES_DIR", str(rules))
    assert main(["check", "--no-warnings"]) == 1
    out = capsys.readouterr().out
    assert "unknown-clause: '第999条'" in out and "sample.yaml:" in out
    # Checking named files checks those files only.
    assert main(["check", str(rules / "sample.yaml")]) == 0
