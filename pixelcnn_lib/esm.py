"""The widgets' JavaScript, as anywidget ships it: one ES module per widget class.

anywidget loads a widget's module from a string (a blob URL), where relative imports cannot
resolve, so the files a view imports (field.js, dom.js) are inlined before it, their import
lines removed. Every name stays module-level, so the files must not reuse each other's names.
"""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
_IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([\w.-]+)";[ \t]*$', re.M)


def inline_modules(*names: str) -> str:
    """One ES module from the files `names` of this package, each after the files it imports."""
    parts = []
    for n, name in enumerate(names):
        text = (HERE / name).read_text()
        missing = [dep for dep in _IMPORT.findall(text) if dep not in names[:n]]
        if missing:
            raise RuntimeError(f"{name} imports {missing}: list them before it.")
        text = _IMPORT.sub("", text)
        if re.search(r'^\s*import\b.*"\./', text, re.M):
            raise RuntimeError(f"{name}: write each relative import on one line, "
                               '`import { a, b } from "./x.js";`.')
        parts.append(text)
    return "\n".join(parts)
