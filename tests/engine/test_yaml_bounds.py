"""The YAML loader reads within bounds: alias bombs, deep nesting and huge files are refused with a
diagnostic, before anything walks them (engine/format/loader.py).

A 740-byte rule file whose ``when:`` is nine levels of nine aliases stands for 387 million conditions:
``flets-elig check`` used to walk them all (and a worker reloading it grew without end); nesting about
1,000 deep crashed it with a RecursionError. The attacks run in a child process with a time-out and an
address-space limit, so a regression fails instead of hanging the suite or exhausting the machine.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.format.loader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    MarkedDict,
    MarkedList,
    parse_yaml,
    read_yaml_file,
)
from engine.paths import PROJECT_ROOT
from engine.rules.rulebook import load_rulebook
from engine.tariff import load_tariffs

#: A child that runs longer than this has hung on the attack (it needs about a second).
CHILD_TIMEOUT_S = 30
#: The child's address space: the service imports in about 300 MB; a walk of a bomb needs gigabytes.
CHILD_MEMORY_BYTES = 1 << 30


def condition_bomb(levels: int = 9, width: int = 9) -> str:
    """A rule file whose one condition is ``levels`` of ``width`` aliases: width**levels conditions."""
    leaf = ", ".join(["{fact: x, is: 1}"] * width)
    anchors = [f"  a0: &a0 {{any: [{leaf}]}}"]
    for i in range(1, levels):
        anchors.append(f"  a{i}: &a{i} {{any: [{', '.join([f'*a{i - 1}'] * width)}]}}")
    return (
        "ruleset: bomb\nx-anchors:\n"
        + "\n".join(anchors)
        + f"\nrules:\n  - id: r\n    when: *a{levels - 1}\n"
    )


def check_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """``flets-elig check path`` in a child limited in time and memory."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))

    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))",
            "check",
            str(path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        preexec_fn=limit_memory,
        check=False,
    )


def refusal(text: str, label: str = "f.yaml") -> tuple[str, int, int]:
    with pytest.raises(ValidationError) as caught:
        parse_yaml(text, label)
    (diagnostic,) = caught.value.diagnostics
    return diagnostic.code, diagnostic.location.line, diagnostic.location.column


# --- the attacks, through the command line -----------------------------------------------------------


def test_check_refuses_an_alias_bomb_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(condition_bomb(), encoding="utf-8")
    assert path.stat().st_size < 1_000
    started = time.monotonic()
    done = check_in_child(path)
    assert time.monotonic() - started < CHILD_TIMEOUT_S
    assert done.returncode == 1, done.stderr
    assert f"{path}:7:" in done.stdout  # a4: the first anchor past the limit (9**4 conditions)
    assert ": yaml-too-many-nodes: more than 100,000 values" in done.stdout
    assert "1 errors" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "text",
    [
        "ruleset: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "ruleset: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
        "ruleset: " + "{a: " * 990 + "1" + "}" * 990 + "\n",
        "".join("  " * i + "a:\n" for i in range(500)) + "  " * 500 + "1\n",
    ],
    ids=["50000-flow-lists", "50000-flow-mappings", "990-flow-mappings", "500-block-mappings"],
)
def test_check_refuses_deep_nesting_with_a_diagnostic_not_a_crash(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    done = check_in_child(path)
    assert done.returncode == 1, done.stderr
    assert (
        f"{path}:" in done.stdout
        and ": yaml-too-deep: mappings and lists nested more than 64 deep" in (done.stdout)
    )
    assert "Traceback" not in done.stderr


# --- the bounds, exactly ---------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A flow mapping ``depth`` deep (the document's own mapping is level 1)."""
    return "a: " + "{a: " * (depth - 1) + "1" + "}" * (depth - 1) + "\n"


def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused_where_it_starts() -> None:
    data = parse_yaml(nested(MAX_DEPTH), "f.yaml")
    for _ in range(MAX_DEPTH - 1):
        data = data["a"]
    assert data == {"a": 1}
    assert refusal(nested(MAX_DEPTH + 1)) == ("yaml-too-deep", 1, 4 + 4 * (MAX_DEPTH - 1))


def expanded(value: object) -> int:
    """How many values ``value`` holds with aliases expanded: keys, scalars, mappings and lists."""
    if isinstance(value, dict):
        return 1 + sum(1 + expanded(item) for item in value.values())
    if isinstance(value, list):
        return 1 + sum(expanded(item) for item in value)
    return 1


def aliased(total: int) -> str:
    """A document of exactly ``total`` values, most of them behind aliases of one 1,000-item list."""
    shared = 1 + 1_000  # the list and its items
    fixed = 1 + 1 + shared + 1 + 1  # the document, key a, the shared list, key b, b's list
    copies, extra = divmod(total - fixed, shared)
    items = ["*a"] * copies + ["0"] * extra
    return f"a: &a [{', '.join(['0'] * 1_000)}]\nb: [{', '.join(items)}]\n"


def test_a_document_of_the_limit_is_read_and_one_more_value_is_refused() -> None:
    assert expanded(parse_yaml(aliased(MAX_NODES), "f.yaml")) == MAX_NODES
    code, line, _ = refusal(aliased(MAX_NODES + 1))
    assert (code, line) == ("yaml-too-many-nodes", 2)


def merges(copies: int) -> str:
    """A 1,000-key mapping merged into ``copies`` mappings (``<<: *b``): each merge copies its keys."""
    text = "base: &b {" + ", ".join(f"k{i}: {i}" for i in range(1_000)) + "}\ncopies:\n"
    return text + "".join(f"  - {{<<: *b, own: {i}}}\n" for i in range(copies))


def test_aliases_are_counted_as_what_they_stand_for_merges_too() -> None:
    per_copy = 1 + 1 + (1 + 2 * 1_000) + 2  # the mapping, <<, the merged mapping, own: i
    fixed = 1 + 1 + (1 + 2 * 1_000) + 1 + 1  # the document, base, its mapping, copies, the list
    fitting = (MAX_NODES - fixed) // per_copy
    assert expanded(parse_yaml(merges(fitting), "f.yaml")) <= MAX_NODES
    code, line, _ = refusal(merges(fitting + 1))
    assert (code, line) == ("yaml-too-many-nodes", 2 + fitting + 1)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(64 << 30)  # a sparse 64 GiB file: reading it would not end well
    with pytest.raises(ValidationError) as caught:
        read_yaml_file(path)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.location)) == ("file-too-large", str(path))


def test_the_size_limit_is_exact_and_counts_bytes_not_characters(tmp_path: Path) -> None:
    head = "a: 1\n#"
    path = tmp_path / "edge.yaml"
    path.write_text(head + "x" * (MAX_FILE_BYTES - len(head)), encoding="utf-8")
    assert read_yaml_file(path) == {"a": 1}
    path.write_text(head + "x" * (MAX_FILE_BYTES - len(head) + 1), encoding="utf-8")
    with pytest.raises(ValidationError, match="file-too-large"):
        read_yaml_file(path)
    wide = (
        "a: " + "料" * (MAX_FILE_BYTES // 3) + "\n"
    )  # fewer characters than bytes allowed, 3 bytes each
    assert len(wide) < MAX_FILE_BYTES < len(wide.encode())
    assert refusal(wide)[0] == "file-too-large"


@pytest.mark.parametrize("number", ["9" * 5_000, "0x" + "f" * 5_000], ids=["decimal", "hex"])
def test_an_integer_python_cannot_read_or_write_is_a_diagnostic_not_a_crash(number: str) -> None:
    assert refusal(f"a: 1\nb: {number}\n") == ("yaml-syntax", 2, 4)


def test_the_bounds_leave_the_bundled_files_far_inside() -> None:
    for folder in ("rules", "tariffs"):
        for path in sorted((PROJECT_ROOT / folder).glob("*.yaml")):
            data = read_yaml_file(path)
            assert isinstance(data, MarkedDict | MarkedList)
            assert expanded(data) < MAX_NODES // 10 and path.stat().st_size < MAX_FILE_BYTES // 10


# --- every reader of YAML files is bounded ---------------------------------------------------------


def test_a_bomb_in_a_rules_folder_is_refused_by_the_loader(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(condition_bomb(), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_rulebook(tmp_path)
    assert [d.code for d in caught.value.diagnostics] == ["yaml-too-many-nodes"]


def test_a_bomb_in_a_tariff_folder_is_refused_by_the_loader(tmp_path: Path) -> None:
    folder = tmp_path / "tariffs"
    shutil.copytree(PROJECT_ROOT / "tariffs", folder)
    bomb = condition_bomb().replace("ruleset: bomb", "tariff: bomb")
    (folder / "bomb.yaml").write_text(bomb, encoding="utf-8")
    (folder / "deep.yaml").write_text(nested(MAX_DEPTH + 1), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    found = {(d.location.file.rsplit("/", 1)[-1], d.code) for d in caught.value.diagnostics}
    assert found == {("bomb.yaml", "yaml-too-many-nodes"), ("deep.yaml", "yaml-too-deep")}
