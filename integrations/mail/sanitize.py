"""E-mail HTML made safe to show, on output (what is stored is what the provider sent).

``html_sanitize`` runs nh3 (ammonia) with an allowlist: layout and text tags, no script, form,
frame, object, SVG or MathML (dropped with their content), no ``meta``/``base``/``link``, no event
handler or unknown attribute, URLs only ``http``, ``https``, ``mailto`` and ``cid`` (relative ones
dropped: they would point into Liaison). Then:

- ``cid:`` references become the attachment URLs the caller passes (``cid_urls``, keyed by
  Content-ID); an unknown Content-ID loses its ``src``;
- links open in a new browsing context, ``rel="noopener noreferrer"``;
- remote images are blocked unless ``show_images``: ``src`` becomes ``data-remote-src`` so
  nothing loads (no tracking pixel) until the reader asks;
- CSS that can fetch or run is removed from ``style`` attributes and ``<style>`` blocks
  (``integrations.mail.sanitize_css``).

The result is still meant for a sandboxed iframe under a strict Content-Security-Policy
(``integrations.mail.web_reading``): sanitizing and sandboxing each cover for the other.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import nh3

from integrations.mail.sanitize_css import declarations_scrub, stylesheet_scrub

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "address",
        "article",
        "aside",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "font",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "main",
        "mark",
        "nav",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "section",
        "small",
        "span",
        "strike",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    }
)
# Gone with everything inside them (other tags not allowed lose the tag and keep their text).
DROPPED_WITH_CONTENT = frozenset(
    {
        "applet",
        "button",
        "embed",
        "frame",
        "frameset",
        "iframe",
        "math",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "plaintext",
        "script",
        "select",
        "svg",
        "template",
        "textarea",
        "title",
        "xmp",
    }
)
_LAYOUT = {"align", "valign", "bgcolor", "width", "height", "border", "dir", "lang", "title"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "style", *_LAYOUT},
    "a": {"href", "name"},
    "img": {"src", "alt", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"cellpadding", "cellspacing", "summary", "frame", "rules"},
    "td": {"colspan", "rowspan", "headers", "scope", "nowrap", "abbr"},
    "th": {"colspan", "rowspan", "headers", "scope", "nowrap", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value"},
    "time": {"datetime"},
    "details": {"open"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})

_IMG_TAG = re.compile(r"<img\b[^>]*>")
_IMG_SRC = re.compile(r'\ssrc="([^"]*)"')
_STYLE_BLOCK = re.compile(r"(<style>)(.*?)(</style>)", re.DOTALL)
_REMOTE = re.compile(r"^https?://", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)


@dataclass(frozen=True)
class SafeHtml:
    """Sanitized HTML and how many remote images it has (blocked unless ``images_shown``)."""

    html: str
    remote_images: int
    images_shown: bool


def content_id_key(value: str) -> str:
    """How a Content-ID is compared: RFC 2392 ``cid:`` URLs are %-encoded, ids case-blind."""
    return unquote(value).strip().strip("<>").strip().lower()


def html_sanitize(
    markup: str, *, cid_urls: Mapping[str, str] | None = None, show_images: bool = False
) -> SafeHtml:
    """``markup`` safe to render. ``cid_urls``: Content-ID (as ``content_id_key``) → URL."""
    inline = {content_id_key(k): v for k, v in (cid_urls or {}).items()}
    local = set(inline.values())

    def attribute(tag: str, name: str, value: str) -> str | None:
        if name == "style":
            return declarations_scrub(value) or None
        if name in ("src", "href"):
            target = value.strip()
            if target[:4].lower() == "cid:":
                return inline.get(content_id_key(target[4:]))
            if target.startswith("//"):  # protocol-relative: remote all the same
                return f"https:{target}"
        return value

    cleaned = nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute,
        url_schemes=set(URL_SCHEMES),
        url_relative=lambda url: url if url in local else None,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    # A <style> element's text is serialized raw (never escaped), so it is CSS as written.
    cleaned = _STYLE_BLOCK.sub(
        lambda found: found.group(1) + stylesheet_scrub(found.group(2)) + found.group(3), cleaned
    )
    remote = 0

    def image(found: re.Match[str]) -> str:
        nonlocal remote
        tag = found.group(0)
        src = _IMG_SRC.search(tag)
        if src is None or html.unescape(src.group(1)) in local:
            return tag
        if not _REMOTE.match(html.unescape(src.group(1))):
            return tag
        remote += 1
        if show_images:
            return tag
        return tag[: src.start()] + ' data-remote-src="' + src.group(1) + '"' + tag[src.end() :]

    cleaned = _IMG_TAG.sub(image, cleaned)
    return SafeHtml(html=cleaned, remote_images=remote, images_shown=show_images)


def text_to_html(text: str) -> str:
    """A plain-text body as HTML: escaped, line breaks kept, web addresses made links."""
    out: list[str] = []
    position = 0
    for found in _URL_IN_TEXT.finditer(text):
        out.append(html.escape(text[position : found.start()]))
        url = html.escape(found.group(0))
        out.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>')
        position = found.end()
    out.append(html.escape(text[position:]))
    return f'<div class="plain-text">{"".join(out)}</div>'
