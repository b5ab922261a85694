"""The checkers' message catalogue: extract every message of attn_lessons/exercises into it.

Usage: ``.venv/bin/python scripts/checker_messages.py`` rewrites
``attn_lessons/exercises/locale/zh_CN.po`` from the checkers' sources: every string literal given
to ``tr(...)`` or ``mark(...)`` is a message; a message already translated keeps its translation,
a new one is added untranslated, one no checker uses any more is dropped. Then translate the empty
``msgstr`` entries by hand (natural mainland Chinese, the terms of book/glossary/terms.yml; keep
every ``{placeholder}`` and every piece of code as it is). ``--check`` writes nothing and exits
with 1 when the catalogue is not up to date (tests/test_exercise_messages.py runs the same check).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attn_lessons.exercises import _messages  # noqa: E402

SOURCES = ROOT / "attn_lessons" / "exercises"
#: The functions whose literal first argument is a message.
MARKERS = ("tr", "mark")

HEADER = """\
# The exercise checkers' messages in Chinese (attn_lessons/exercises/_messages.py reads this file).
# msgid: the English message, as written in the checker; msgstr: its Chinese translation.
# Keep every {placeholder} and every piece of code (names, formulas, shapes) as it is.
# Regenerate the entries with: .venv/bin/python scripts/checker_messages.py
msgid ""
msgstr ""
"Project-Id-Version: attn_lessons checkers\\n"
"Language: zh_CN\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"""


def extract(sources: Path = SOURCES) -> dict[str, list[str]]:
    """``{message: [the files that use it]}`` in the order of first use, file by file."""
    found: dict[str, list[str]] = {}
    for path in sorted(sources.glob("*.py")):
        if path.name == "_messages.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id in MARKERS and n.args]
        for call in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
            arg = call.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                where = found.setdefault(arg.value, [])
                name = f"attn_lessons/exercises/{path.name}"
                if name not in where:
                    where.append(name)
    return found


def updated(text: str, messages: dict[str, list[str]]) -> str:
    """The catalogue ``text`` with exactly ``messages``, their translations kept."""
    old = {e.msgid: e for e in _messages.read_po(text) if e.msgid}
    entries = []
    for msgid, files in messages.items():
        entry = _messages.Entry()
        entry.msgid = msgid
        before = old.get(msgid)
        entry.comments = [f"#: {' '.join(files)}"]
        if before is not None:
            entry.msgstr = before.msgstr
            entry.comments += [c for c in before.comments if c.startswith("#,")]
        entries.append(entry)
    return _messages.write_po(entries, HEADER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the catalogue is not up to date")
    args = parser.parse_args(argv)
    path = _messages.catalogue_path("zh_CN")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    new = updated(text, extract())
    if args.check:
        if new != text:
            print(f"{path.relative_to(ROOT)} is not up to date: run scripts/checker_messages.py")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")
    entries = [e for e in _messages.read_po(new) if e.msgid]
    missing = sum(1 for e in entries if not e.msgstr or e.fuzzy)
    print(f"{path.relative_to(ROOT)}: {len(entries)} messages, {missing} to translate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
