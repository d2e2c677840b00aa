"""What the rule and tariff files validate to, kept per machine (issue 18, "Start and reload time").

A start that reads a stored load must serve exactly what reading the files gives: the same rule sets,
digests, warnings, tariffs and answers. Anything the entry cannot give back exactly is refused when it
is written; an entry that does not decode (damaged, naming a class outside the model, another format)
is a miss — no code is ever run from an entry; files that fail their checks are never stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import Diagnostic, SourceLocation, ValidationError
from engine.lifecycle.generations import Sources, copy_sources
from engine.lifecycle.load_cache import (
    CodecError,
    Loaded,
    cached_load,
    decode,
    encode,
    entry_key,
)
from engine.lifecycle.plan_cache import MAX_LOADS, PlanFolder
from engine.lifecycle.reload import load_snapshot
from engine.messages import Code, Message
from engine.paths import rules_dir, tariffs_dir
from engine.rules.plans import plan_store, use_plan_store
from engine.rules.rulebook import ruleset_digest, valid_rulesets
from engine.tariff.book import load_tariffs
from engine.tariff.examples import run_examples as run_tariff_examples


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PlanFolder]:
    """An empty machine cache folder installed as the store; the previous one put back after."""
    previous = plan_store()
    folder = PlanFolder(tmp_path / "cache")
    use_plan_store(folder)
    try:
        yield folder
    finally:
        use_plan_store(previous)


@pytest.fixture(scope="module")
def bundled() -> Loaded:
    rulesets, warnings = valid_rulesets(rules_dir())
    return Loaded.of(rulesets, warnings, load_tariffs(tariffs_dir()))


def _through_json(loaded: Loaded) -> Loaded:
    """Written and read back as the folder does (JSON text)."""
    return Loaded.from_json(json.loads(json.dumps(loaded.to_json())))


def test_the_bundled_rules_and_tariffs_come_back_equal(bundled: Loaded) -> None:
    back = _through_json(bundled)
    assert back == bundled
    assert [type(rs) for rs in back.rulesets] == [type(rs) for rs in bundled.rulesets]
    assert back.tariffs is not None and len(back.tariffs) == len(bundled.tariffs or [])
    assert [f.digest for f in back.files] == [ruleset_digest(rs) for rs in bundled.rulesets]


def test_a_warning_with_a_catalogue_message_comes_back_renderable() -> None:
    message = Message(Code.UNKNOWN_TARIFF, id="tv_transport")
    warning = Diagnostic("some-warning", message, SourceLocation("rules/x.yaml", 3, 5), "a.b",
                         "warning")  # fmt: skip
    back = decode(json.loads(json.dumps(encode([warning]))))
    assert back == [warning]
    assert isinstance(back[0].message, Message)
    assert back[0].message.render("ja") == message.render("ja")


_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.dates()
    | st.times()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
_hashable = st.recursive(_leaves, lambda inner: st.tuples(inner, inner) | st.frozensets(inner),
                         max_leaves=8)  # fmt: skip
_values = st.recursive(
    _hashable,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_hashable, inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
    ),
    max_leaves=20,
)


@given(_values)
def test_any_value_of_the_supported_kinds_comes_back_equal_and_of_the_same_types(
    value: Any,
) -> None:
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value
    assert _shape(back) == _shape(value)


def _shape(value: Any) -> Any:
    """The types of ``value`` and everything in it (``==`` alone takes 1 == 1.0 == True)."""
    if isinstance(value, dict):
        return (dict, sorted((repr(_shape(k)), repr(_shape(v))) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), [_shape(item) for item in value])
    if isinstance(value, frozenset):
        return (frozenset, sorted(repr(_shape(item)) for item in value))
    return type(value)


class _Mine(dict[str, Any]):
    pass


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), _Mine(), {1, 2}, object(), Path("x"), b"bytes"],
    ids=["nan", "inf", "dict-subclass", "set", "object", "path", "bytes"],
)
def test_what_could_not_come_back_exactly_is_refused_when_written(value: Any) -> None:
    with pytest.raises(CodecError):
        encode(value)


@pytest.mark.parametrize(
    "data",
    [
        {"@": "os:system", "v": ["echo owned"]},
        {"@": "builtins:eval", "v": ["1"]},
        {"E": "subprocess:Popen", "v": "x"},
        {"@": "engine.errors:SourceLocation", "v": "not a list"},
        {"unknown": 1},
        {"date": "not a date"},
        {"dec": "1.2.3"},
        1.5,
    ],
)
def test_an_entry_names_only_classes_of_the_model_and_anything_else_fails_to_decode(
    data: Any,
) -> None:
    with pytest.raises(CodecError):
        decode(data)


def _counted(loaded: Loaded) -> tuple[list[int], Any]:
    reads = [0]

    def read() -> Loaded:
        reads[0] += 1
        return loaded

    return reads, read


def test_the_first_load_reads_the_files_and_the_next_ones_read_the_entry(
    store: PlanFolder, bundled: Loaded
) -> None:
    reads, read = _counted(bundled)
    key = entry_key("snapshot", ["rules/a.yaml"])
    assert cached_load(store, key, read) is bundled
    again = cached_load(store, key, read)
    assert reads == [1]
    assert again == bundled and again is not bundled
    assert (store.folder / f"{key}.json").is_file()


@pytest.mark.parametrize("damage", ["{not json", '{"format": 1, "rulesets": {"@": "os:system"}}',
                                    '{"format": 99}', "[]"])  # fmt: skip
def test_an_entry_that_does_not_decode_is_a_miss_and_is_written_again(
    store: PlanFolder, bundled: Loaded, damage: str
) -> None:
    key = entry_key("snapshot", ["rules/a.yaml"])
    (store.folder / f"{key}.json").write_text(damage)
    reads, read = _counted(bundled)
    assert cached_load(store, key, read) == bundled
    assert reads == [1]
    assert Loaded.from_json(json.loads((store.folder / f"{key}.json").read_text())) == bundled


def test_files_that_fail_their_checks_are_never_stored(store: PlanFolder) -> None:
    failure = ValidationError([Diagnostic("bad", "bad", SourceLocation("rules/a.yaml", 1, 1))])

    def read() -> Loaded:
        raise failure

    key = entry_key("snapshot", ["rules/a.yaml"])
    with pytest.raises(ValidationError):
        cached_load(store, key, read)
    assert not (store.folder / f"{key}.json").exists()


def test_the_key_follows_the_files_their_names_and_the_day() -> None:
    base = entry_key("digest-a", ["rules/a.yaml"], date(2026, 12, 2))
    assert base == entry_key("digest-a", ["rules/a.yaml"], date(2026, 12, 2))
    assert base != entry_key("digest-b", ["rules/a.yaml"], date(2026, 12, 2))
    assert base != entry_key("digest-a", ["rules/b.yaml"], date(2026, 12, 2))
    assert base != entry_key("digest-a", ["rules/a.yaml"], date(2026, 12, 3))


def test_a_server_load_from_the_entry_decides_and_prices_as_one_from_the_files(
    store: PlanFolder, tmp_path: Path
) -> None:
    sources = Sources(rules_dir(), tariffs_dir())
    fresh = load_snapshot(copy_sources(sources, tmp_path / "one"), sources)
    entries = list(store.folder.glob("load*.json"))
    assert len(entries) == 1
    stored = load_snapshot(copy_sources(sources, tmp_path / "two"), sources)
    try:
        assert list(store.folder.glob("load*.json")) == entries  # the same files: the same entry
        assert stored.rulebook.all_rulesets() == fresh.rulebook.all_rulesets()
        assert [ruleset_digest(rs) for rs in stored.rulebook.all_rulesets()] == [
            ruleset_digest(rs) for rs in fresh.rulebook.all_rulesets()
        ]
        results = stored.rulebook.run_examples()
        assert results and all(r.passed for r in results)
        assert [(r.ruleset.key, r.index) for r in results] == [
            (r.ruleset.key, r.index) for r in fresh.rulebook.run_examples()
        ]
        assert stored.tariffs is not None and fresh.tariffs is not None
        assert run_tariff_examples(stored.tariffs) == []
        assert stored.tariffs.rates == fresh.tariffs.rates
        quoted = 0
        for tariff in fresh.tariffs.tariffs:
            assert stored.tariffs.digest(tariff) == fresh.tariffs.digest(tariff)
            for example in tariff.examples:
                if "errors" not in example.expect:
                    request = dict(example.request)
                    assert stored.tariffs.quote(request) == fresh.tariffs.quote(request)
                    quoted += 1
        assert quoted > 0
    finally:
        fresh.close()
        stored.close()


def test_the_folder_keeps_only_the_newest_loads(store: PlanFolder) -> None:
    for i in range(MAX_LOADS + 3):
        store.replace(f"load{i:04d}", {"format": None})
    assert len(list(store.folder.glob("load*.json"))) == MAX_LOADS


def test_a_time_and_a_decimal_keep_their_exact_text() -> None:
    assert decode(encode(time(23, 0))) == time(23, 0)
    assert str(decode(encode(Decimal("1.10")))) == "1.10"
