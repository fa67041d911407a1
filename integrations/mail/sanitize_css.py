"""CSS from e-mail with everything that can fetch or run taken out.

Mail styles itself with ``style`` attributes and ``<style>`` blocks; both stay, minus what can
reach the network or execute: ``url()`` and the image functions (``image-set()`` loads from a
plain string), ``@import``, ``@font-face``, IE's ``expression()`` and ``behavior``, Mozilla's
``-moz-binding``, ``javascript:``. Detection looks at the text as the browser would read it
(comments dropped, escapes such as ``\\75 rl(`` decoded, spaces ignored) and drops the whole
declaration or rule; what is kept is written back as it came, so nothing decoded is ever emitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.DOTALL)
_SPACE = re.compile(r"\s+")
_FETCHES = re.compile(
    r"url\(|image\(|image-set\(|cross-fade\(|element\(|src\(|expression\(|@import|"
    r"behavior:|-moz-binding|javascript:|vbscript:|livescript:"
)
# At-rules whose block holds rules again (scrubbed like a stylesheet); every other at-rule goes.
_NESTING_AT_RULES = ("@media", "@supports", "@container", "@layer", "@keyframes", "@-webkit-keyf")
_DECLARATION_AT_RULES = ("@page",)
_MAX_DEPTH = 8


def _unescape(found: re.Match[str]) -> str:
    if found.group(1) is not None:
        code = int(found.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
    return found.group(2)


def _as_read(css: str) -> str:
    """The text as a CSS parser sees it, lower-cased and without whitespace: for detection."""
    text = _COMMENT.sub("", css.replace("\x00", ""))
    text = _ESCAPE.sub(_unescape, text)
    return _SPACE.sub("", text).lower()


def fetches(css: str) -> bool:
    """Whether this CSS text could load something or run code."""
    return _FETCHES.search(_as_read(css)) is not None


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of every character of ``text`` that is not inside a quoted string."""
    quote, escaped = "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        else:
            yield index, char


def _split_top(text: str, separator: str) -> Iterator[str]:
    """``text`` split at ``separator`` outside strings and parentheses."""
    depth, start = 0, 0
    for index, char in _outside_strings(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == separator and depth == 0:
            yield text[start:index]
            start = index + 1
    yield text[start:]


def declarations_scrub(css: str) -> str:
    """A declaration list (a ``style`` attribute, a rule's body) without the fetching ones."""
    kept = [
        part.strip()
        for part in _split_top(_COMMENT.sub(" ", css), ";")
        if part.strip() and ":" in part and not fetches(part)
    ]
    return "; ".join(kept)


def _rules(css: str) -> Iterator[tuple[str, str | None]]:
    """(prelude, block) per top-level statement; block is None for ``@x ...;`` statements."""
    depth, start, body, prelude = 0, 0, 0, ""
    for index, char in _outside_strings(css):
        if char == "{":
            if depth == 0:
                prelude, body = css[start:index], index + 1
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                yield prelude, css[body:index]
                start = index + 1
        elif depth == 0 and char in ";}":  # a statement's end, or a stray brace
            if char == ";" and css[start:index].strip():
                yield css[start:index], None
            start = index + 1
    if depth:
        yield prelude, css[body:]  # a block never closed runs to the end
    elif css[start:].strip():
        yield css[start:], None


def stylesheet_scrub(css: str, _depth: int = 0) -> str:
    """A ``<style>`` block's content without fetching rules or declarations.

    The result never contains ``<``, so it cannot close the ``<style>`` element it sits in.
    """
    if _depth > _MAX_DEPTH:
        return ""
    out: list[str] = []
    for prelude, block in _rules(_COMMENT.sub(" ", css)):
        name = _as_read(prelude)
        if block is None or fetches(prelude):
            continue  # @import, @charset, @namespace: nothing a mail needs
        if name.startswith(_NESTING_AT_RULES):
            out.append(f"{prelude.strip()} {{{stylesheet_scrub(block, _depth + 1)}}}")
        elif name.startswith("@") and not name.startswith(_DECLARATION_AT_RULES):
            continue  # @font-face (fetches fonts) and the rest
        else:
            out.append(f"{prelude.strip()} {{{declarations_scrub(block)}}}")
    return "\n".join(out).replace("<", "\\3c ")
