from pathlib import Path

import pytest
import yaml

from engine.errors import ValidationError
from engine.format import loader
from engine.format.loader import MarkedDict, MarkedList, parse_yaml, read_yaml_file, yaml_files
from engine.paths import PROJECT_ROOT, rules_dir


def test_keys_and_items_remember_their_lines() -> None:
    data = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert isinstance(data, MarkedDict)
    assert str(data.where("b")) == "f.yaml:2:1"
    assert str(data["b"].where(1)) == "f.yaml:4:5"
    assert str(data["b"][1].where("c")) == "f.yaml:4:6"


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "broken.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location.file == "broken.yaml"
    assert (diagnostic.location.line, diagnostic.location.column) == (3, 2)


def test_duplicate_keys_are_refused_not_overwritten() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_yaml("rules: 1\nrules: 2\n", "dup.yaml")
    assert str(caught.value) == "dup.yaml:2:1: yaml-syntax: duplicate key 'rules'"


def test_python_tags_are_not_executed() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_yaml("a: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")
    assert caught.value.diagnostics[0].code == "yaml-syntax"


def test_keys_yaml_would_read_as_booleans_keep_their_text() -> None:
    assert list(parse_yaml("yes: 1\nno: 2\n", "f.yaml")) == ["yes", "no"]


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ValidationError) as caught:
        read_yaml_file(path)
    assert caught.value.diagnostics[0].code == "unreadable-file"


def test_merge_keys_may_be_overridden_but_written_keys_not_repeated() -> None:
    data = parse_yaml("base: &b {a: 1, c: 3}\nx:\n  <<: *b\n  a: 2\n", "f.yaml")
    assert data["x"] == {"a": 2, "c": 3}
    assert str(data["x"].where("a")) == "f.yaml:4:3"
    first_wins = parse_yaml("p: &p {a: 1}\nq: &q {a: 2}\nx:\n  <<: [*p, *q]\n", "f.yaml")
    assert first_wins["x"] == {"a": 1}  # YAML: earlier mappings in a merge list take precedence


def _marks(value: object) -> object:
    """The data with every mark, for comparing two parses."""
    if isinstance(value, MarkedDict):
        items = {key: _marks(item) for key, item in value.items()}
        return value.location, dict(value.key_locations), items
    if isinstance(value, MarkedList):
        return value.location, list(value.item_locations), [_marks(item) for item in value]
    return type(value).__name__, value


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_libyaml_gives_the_data_and_marks_of_the_pure_python_parser() -> None:
    """The loader runs on libyaml's parser for speed; it must read every bundled file alike."""

    class PurePython(yaml.SafeLoader):
        file_label = "<string>"
        construct_mapping = loader._MarkingLoader.construct_mapping
        construct_sequence = loader._MarkingLoader.construct_sequence

    PurePython.add_constructor("tag:yaml.org,2002:map", PurePython.construct_mapping)
    PurePython.add_constructor("tag:yaml.org,2002:seq", PurePython.construct_sequence)
    assert issubclass(loader._MarkingLoader, yaml.CSafeLoader)
    for path in yaml_files(rules_dir()) + yaml_files(PROJECT_ROOT / "tariffs"):
        text = path.read_text(encoding="utf-8")
        pure = PurePython(text)
        pure.file_label = path.name
        try:
            expected = _marks(pure.get_single_data())
        finally:
            pure.dispose()
        assert _marks(parse_yaml(text, path.name)) == expected, path.name


@pytest.mark.parametrize(
    "text",
    ["ruleset: [", "a: [\n", "a: 1\nb: [x", "a: 1\nb: [x\n", "a: {b: 1", "a:\n  - 1\n - 2\n"],
)
def test_a_syntax_error_is_placed_where_the_pure_python_parser_places_it(text: str) -> None:
    """libyaml marks the end of a file without a final newline one line too far; the loader does not."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader, for its marks only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        assert mark is not None
        expected = (mark.line + 1, mark.column + 1)
    else:
        pytest.fail("not a syntax error")
    with pytest.raises(ValidationError) as raised:
        parse_yaml(text, "f.yaml")
    location = raised.value.diagnostics[0].location
    assert (location.line, location.column) == expected
