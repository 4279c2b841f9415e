"""Every error message biodyn can print reads as English: a grep over the templates.

The templates are the string arguments (plain or f-strings) of every ``...Error(...)`` call in
``biodyn/``; placeholders are kept apart from the literal text, so the checks see what the
reader will see around each value.
"""

import ast
import re
from pathlib import Path

import pytest

from biodyn.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent / "biodyn"
HOLE = "\x00"  # stands for a placeholder's value

# "a {x}" is right only if every value of x starts with a consonant sound: the expressions
# checked by hand (value sets in the comment), and nothing else.
ARTICLE_BEFORE_VALUE_OK = {
    "role",       # 'pre' / 'post' (protocols/_spike_trains.py)
    "other",      # 'pre' / 'post'
}


def _render(node):
    """A template's text with placeholders as HOLE + expression + HOLE (None if not a string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value)
            else:
                parts.append(HOLE + ast.unparse(v.value) + HOLE)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left), _render(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else HOLE + "?" + HOLE) + \
               (right if right is not None else HOLE + "?" + HOLE)
    return None


def _templates():
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if not (name.endswith("Error") or name in ("StaleBuild", "MissingJob")):
                continue
            for i, arg in enumerate(node.args):
                text = _render(arg)
                if text is not None:
                    yield f"{path.relative_to(ROOT.parent)}:{node.lineno}", name, i, text


TEMPLATES = list(_templates())


def _literal(text):
    """The literal words only, each placeholder as the word X."""
    return re.sub(HOLE + ".*?" + HOLE, "X", text)


def test_there_are_error_templates_to_check():
    assert len(TEMPLATES) > 500


def test_error_templates_use_a_and_an_before_the_right_sounds():
    bad = []
    for where, _, _, text in TEMPLATES:
        lit = _literal(text)
        for m in re.finditer(r"\ban [bcdfgjklmnpqrstvwz]\w*|\ba [aeio]\w*|\ba an\b|\ban a\b", lit):
            bad.append(f"{where}: {m.group(0)!r} in {lit!r}")
    assert not bad, "\n".join(bad)


def test_error_templates_put_no_article_before_a_value_of_unknown_sound():
    """``a {kind}`` reads 'a othe'/'a 8x8' for some values: only checked expressions may follow."""
    bad = []
    for where, _, _, text in TEMPLATES:
        for m in re.finditer(r"\b(a|an) " + HOLE + "(.*?)" + HOLE, text):
            if m.group(2) not in ARTICLE_BEFORE_VALUE_OK:
                bad.append(f"{where}: {m.group(1)} {{{m.group(2)}}} in {_literal(text)!r}")
    assert not bad, "\n".join(bad)


def test_error_templates_have_no_doubled_words():
    bad = []
    for where, _, _, text in TEMPLATES:
        lit = _literal(text)
        for m in re.finditer(r"\b([A-Za-z]+) \1\b", lit):
            if m.group(1) != "X":
                bad.append(f"{where}: {m.group(0)!r} in {lit!r}")
    assert not bad, "\n".join(bad)


def test_error_templates_never_cut_words_by_slicing():
    """``{group[:-1]}`` made 'othe' of 'other'; ``{text[:300]}`` ends on half a word: cut with
    :func:`biodyn.errors.shorten` (at a word boundary, with an ellipsis) instead."""
    bad = []
    for where, _, _, text in TEMPLATES:
        for m in re.finditer(HOLE + "(.*?)" + HOLE, text):
            if re.search(r"\[\s*-?\d*\s*:\s*-?\d*\s*\]", m.group(1)):
                bad.append(f"{where}: {{{m.group(1)}}}")
    assert not bad, "\n".join(bad)


def test_spec_error_parts_do_not_repeat_the_frame():
    """SpecError writes 'expected ..., found ...' itself: its parts must not say it again."""
    bad = []
    for where, name, i, text in TEMPLATES:
        lit = _literal(text).strip()
        if name == "SpecError" and ((i == 2 and re.match(r"expected\b", lit))
                                    or (i == 3 and re.match(r"found\b", lit))):
            bad.append(f"{where}: {lit!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("text, width, expected", [
    ("short message", 300, "short message"),
    ("alpha beta gamma delta", 15, "alpha beta…"),
    ("a\n  b   c", 300, "a b c"),
])
def test_shorten_cuts_at_a_word_boundary(text, width, expected):
    from biodyn.errors import shorten

    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width


def test_spec_error_message_names_file_key_expected_found_hint():
    e = SpecError("m.toml", "a.b", "a number", "'x'", "did you mean 'y'?")
    assert str(e) == "m.toml: a.b: expected a number, found 'x'; did you mean 'y'?"


def test_display_path_follows_the_working_directory(tmp_path, monkeypatch):
    """display_path is cached by (cwd, path): a path shown relative to one working directory
    is shown as it is from another."""
    from biodyn.errors import display_path

    (tmp_path / "a").mkdir()
    path = str(tmp_path / "a" / "spec.toml")
    monkeypatch.chdir(tmp_path)
    assert display_path(path) == "a/spec.toml"
    monkeypatch.chdir(tmp_path / "a")
    assert display_path(path) == "spec.toml"
    monkeypatch.chdir("/")
    assert display_path(path) == path.lstrip("/") or display_path(path) == path
    monkeypatch.chdir(tmp_path)
    assert display_path(path) == "a/spec.toml"
