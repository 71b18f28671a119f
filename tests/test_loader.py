"""Loader guards that need generated input: sizes and depths too large to commit as case files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runbinder import loader
from runbinder.loader import load_file


def _write(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _only(doc: loader.Document) -> tuple[int, int, str]:
    assert len(doc.diagnostics) == 1, doc.diagnostics
    d = doc.diagnostics[0]
    return d.line, d.col, d.rule


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_nesting_that_would_crash_libyaml_is_refused(tmp_path: Path, opener: str) -> None:
    # 100,000 levels segfault PyYAML's C composer; the loader must refuse before composing.
    closer = {"[": "]", "{a: ": "}", "- ": ""}[opener]
    sep = "\n" if opener == "- " else " "
    path = _write(tmp_path, "id: deep\nx:" + sep + opener * 100_000 + "1" + closer * 100_000 + "\n")
    line, _col, rule = _only(load_file(path))
    assert rule == "yaml.depth"
    assert line == (3 if opener == "- " else 2)


_DEEP_INPUTS = {
    "flow-100k": "id: deep\nx: " + "[" * 100_000 + "1" + "]" * 100_000 + "\n",
    "flow-1500": "id: deep\nx: " + "{a: " * 1_500 + "1" + "}" * 1_500 + "\n",
    "flow-65": "id: deep\nx: " + "[" * 65 + "1" + "]" * 65 + "\n",
    "block-65": "id: deep\nx:\n" + "".join("  " * i + "- \n" for i in range(65)) + "  " * 65 + "- 1\n",
    "compact-100k": "id: deep\nx:\n" + "- " * 100_000 + "1\n",
}


@pytest.mark.parametrize("libyaml", ["installed", "refuses-any-nesting", "pure-python"])
@pytest.mark.parametrize("name", sorted(_DEEP_INPUTS))
def test_depth_answer_does_not_depend_on_libyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, libyaml: str
) -> None:
    # libyaml 0.2.6 (PyYAML 6.0.4) refuses flow nesting past 1,000 levels with a scanner error, earlier releases
    # compose it (and crash near 100,000). runbinder's guard decides first, so every release gives the same answer.
    text = _DEEP_INPUTS[name]
    expected = _only(load_file(_write(tmp_path, text)))
    assert expected[2] == "yaml.depth"
    real_parse = yaml.parse

    def parse(stream: str, Loader: type = yaml.SafeLoader) -> object:
        if Loader is yaml.CSafeLoader and libyaml == "refuses-any-nesting":
            raise yaml.scanner.ScannerError("while increasing flow level", None, "exceeded maximum nesting depth")
        return real_parse(stream, Loader=yaml.SafeLoader if libyaml == "pure-python" else Loader)

    def compose_refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("libyaml composed a document the depth guard should have refused")

    monkeypatch.setattr(loader.yaml, "parse", parse)
    monkeypatch.setattr(loader._Loader, "get_single_node", compose_refused)
    assert _only(load_file(_write(tmp_path, text, "again.yaml"))) == expected


def test_brackets_and_indentation_in_text_are_not_nesting(tmp_path: Path) -> None:
    # Unbalanced brackets in quoted text and deeply indented block scalars trigger the exact measurement,
    # which then finds nothing deep.
    text = 'id: ok\ntext: "' + "[" * 80 + '"\ncode: |\n' + " " * 90 + "echo {{{{\n"
    doc = load_file(_write(tmp_path, text))
    assert doc.diagnostics == []
    assert doc.data["text"] == "[" * 80


def test_moderate_nesting_with_anchor_is_measured(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: &i deep\nx: " + "[" * 70 + "*i" + "]" * 70 + "\n")
    assert _only(load_file(path))[2] == "yaml.depth"


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: big\nnotes:\n" + "  - padding line for a file that is far too large\n" * 100_000)
    assert path.stat().st_size > loader.MAX_BYTES
    assert _only(load_file(path)) == (0, 0, "file.size")


def test_python_tag_is_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, 'id: x\ntext: !!python/object/apply:os.system ["touch pwned"]\n')
    assert _only(load_file(path))[2] == "yaml.tag"
    assert not (tmp_path / "pwned").exists()


def test_dates_stay_strings(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "last_reviewed: 2026-11-22\nversion: 1.0\n"))
    assert doc.data == {"last_reviewed": "2026-11-22", "version": 1.0}


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, b"\xef\xbb\xbfid: bom\n"))
    assert doc.ok
    assert doc.data == {"id": "bom"}


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n"))
    assert doc.diagnostics == []
    assert doc.data["x"] == {"a": 1, "b": 3}


def test_every_duplicate_key_is_reported(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n"))
    assert [(d.line, d.col, d.rule) for d in doc.diagnostics] == [
        (3, 1, "yaml.duplicate-key"),
        (6, 3, "yaml.duplicate-key"),
    ]


def test_unreadable_path_is_a_diagnostic(tmp_path: Path) -> None:
    assert _only(load_file(tmp_path / "missing.yaml"))[2] == "file.read"


def test_position_inside_a_literal_block(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "a:\n  code: |\n    first line\n    second $VAR here\n"))
    offset = doc.data["a"]["code"].index("$VAR")
    assert doc.locate_in_scalar(("a", "code"), offset) == (4, 12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "'abc' is not a valid !!int value"),
        ("!!float x", "'x' is not a valid !!float value"),
        ("!!bool maybe", "'maybe' is not a valid !!bool value"),
        ("!!timestamp foo", "'foo' is not a valid !!timestamp value"),
        ("!!timestamp 2023-02-30", "'2023-02-30' is not a valid !!timestamp value"),
        ("!!int 0b2", "'0b2' is not a valid !!int value"),
        ("9" * 4301, "a whole number of 4,301 digits is too long (at most 4,300 digits)"),
        ("-" + "1" * 5000, "a whole number of 5,000 digits is too long"),
        ("!!int 0x" + "f" * 3600, "a whole number of 3,602 characters is too long"),  # hex: no limit in Python
    ],
)
def test_values_a_standard_tag_cannot_read_are_located(tmp_path: Path, value: str, message: str) -> None:
    doc = load_file(_write(tmp_path, f"id: x\nlist:\n  - fine\n  - {value}\n"))
    assert _only(doc) == (4, 5, "yaml.value")
    assert doc.diagnostics[0].message.startswith(message)
    assert doc.data is None


def test_longest_readable_number_is_kept(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "n: " + "9" * 4300 + "\n"))
    assert doc.diagnostics == []
    assert len(str(doc.data["n"])) == 4300  # printable, unlike one digit more


def test_every_unreadable_value_is_reported(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path, "a: !!int x\nb: [ok, !!float y]\nc: {? !!bool z : 1}\nd: !Custom w\n"))
    assert [(d.line, d.col, d.rule) for d in doc.diagnostics] == [
        (1, 4, "yaml.value"),
        (2, 9, "yaml.value"),
        (3, 7, "yaml.value"),
        (4, 4, "yaml.tag"),
    ]


@pytest.mark.parametrize(
    ("text", "position", "name"),
    [
        ('id: x\ntitle: "a\x07b"\n', (2, 10), "control character U+0007"),
        ("id: x\ntitle: Café ünï \x1b[31m\n", (2, 17), "control character U+001B"),  # columns in characters
        ("id: x\r\nnote: a\x7f\r\n", (2, 8), "control character U+007F"),
        ("id: x\nnote: a\x85b \x9b\n", (3, 3), "control character U+009B"),  # NEL is a YAML line break
        ("id: x\nnote: \ufffe\n", (2, 7), "character U+FFFE"),
    ],
)
def test_forbidden_characters_are_located_and_named(
    tmp_path: Path, text: str, position: tuple[int, int], name: str
) -> None:
    doc = load_file(_write(tmp_path, text))
    assert _only(doc) == (*position, "yaml.character")
    message = doc.diagnostics[0].message
    assert message.startswith(f"{name} is not allowed in YAML")
    assert "\n" not in message
    assert "position" not in message
