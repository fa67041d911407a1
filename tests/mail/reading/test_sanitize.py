"""The sanitizer against the classic XSS and tracking vectors: nothing that runs, navigates,
submits or fetches survives; ordinary mail layout does."""

from __future__ import annotations

import re

import pytest

from integrations.mail.sanitize import html_sanitize, text_to_html
from integrations.mail.sanitize_css import declarations_scrub, stylesheet_scrub

# (name, hostile markup): after sanitizing, none of them may leave a way to run code.
VECTORS = [
    ("script tag", "<script>alert(1)</script>"),
    ("script in caps", "<SCRIPT SRC=//evil.test/x.js></SCRIPT>"),
    ("img onerror", "<img src=x onerror=alert(1)>"),
    ("body onload", "<body onload=alert(1)>"),
    ("svg onload", "<svg/onload=alert(1)>"),
    ("svg script", "<svg><script>alert(1)</script></svg>"),
    ("svg animate href", "<svg><a><animate attributeName=href values=javascript:alert(1) />"),
    ("math href", '<math><mi xlink:href="javascript:alert(1)">x</mi></math>'),
    (
        "mathml mutation",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style>",
    ),
    ("noscript mutation", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("javascript link", '<a href="javascript:alert(1)">x</a>'),
    ("obfuscated javascript link", '<a href="  JaVa&#x09;ScRiPt:alert(1)">x</a>'),
    ("entity javascript link", '<a href="&#106;avascript:alert(1)">x</a>'),
    ("vbscript link", '<a href="vbscript:msgbox(1)">x</a>'),
    ("data html link", '<a href="data:text/html,<script>alert(1)</script>">x</a>'),
    ("iframe", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object", '<object data="javascript:alert(1)"></object>'),
    ("embed", '<embed src="javascript:alert(1)">'),
    ("meta refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("base href", '<base href="javascript:alert(1)//">'),
    ("form", '<form action="javascript:alert(1)"><input type=submit></form>'),
    ("button formaction", '<button formaction="javascript:alert(1)">x</button>'),
    ("css expression", '<div style="width: expression(alert(1))">x</div>'),
    ("css behavior", '<div style="behavior: url(x.htc)">x</div>'),
    ("css moz binding", '<div style="-moz-binding: url(x.xml#xss)">x</div>'),
    ("css javascript url", '<div style="background:url(javascript:alert(1))">x</div>'),
    ("style block import", "<style>@import 'javascript:alert(1)';</style>"),
    ("style block breakout", "<style></style><script>alert(1)</script></style>"),
    ("event on any tag", '<p onmouseover="alert(1)" onclick=alert(2)>x</p>'),
    ("details ontoggle", "<details open ontoggle=alert(1)>"),
    ("template", "<template><script>alert(1)</script></template>"),
    ("link stylesheet", '<link rel=stylesheet href="javascript:alert(1)">'),
    ("xml island", "<!--[if gte mso 9]><xml><script>alert(1)</script></xml><![endif]-->"),
]
DANGER = re.compile(
    r"<\s*(script|svg|math|iframe|object|embed|meta|base|form|input|button|link|template)\b"
    r"|\son\w+\s*=|javascript:|vbscript:|expression\(|-moz-binding|behavior|data:text",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("name", "markup"), VECTORS, ids=[v[0] for v in VECTORS])
def test_no_classic_xss_vector_survives(name: str, markup: str) -> None:
    cleaned = html_sanitize(f"<div>before</div>{markup}<div>after</div>").html

    assert DANGER.search(cleaned) is None, cleaned
    assert "before" in cleaned


@pytest.mark.parametrize(
    "css",
    [
        "background: url(https://tracker.test/p.gif)",
        "background-image: URL( 'https://tracker.test/p.gif' )",
        "background: \\75 rl(https://tracker.test/p.gif)",
        "background: u\\72l(https://tracker.test/p.gif)",
        "background: image-set('https://tracker.test/p.gif' 1x)",
        "background: -webkit-image-set('https://tracker.test/p.gif' 1x)",
        "list-style: url(https://tracker.test/p.gif)",
        "cursor: url(https://tracker.test/c.cur), auto",
        "width: ex/**/pression(alert(1))",
    ],
)
def test_css_that_can_fetch_is_removed_from_style_attributes(css: str) -> None:
    cleaned = html_sanitize(f'<p style="color: red; {css}; margin: 0">x</p>').html

    assert cleaned == '<p style="color: red; margin: 0">x</p>'


def test_style_blocks_keep_their_rules_without_imports_fonts_or_fetching_declarations() -> None:
    css = (
        "@import url(https://evil.test/a.css);"
        "@font-face { font-family: Spy; src: url(https://evil.test/f.woff) }"
        ".a { color: red; background: url(https://evil.test/b.png) }"
        "@media (max-width: 600px) { .b { color: blue; background-image: url(x.png) } }"
        '.c { content: "</style><script>alert(1)</script>" }'
    )

    cleaned = stylesheet_scrub(css)

    assert ".a {color: red}" in cleaned and ".b {color: blue}" in cleaned
    assert "url(" not in cleaned and "@import" not in cleaned and "@font-face" not in cleaned
    assert "<" not in cleaned


def test_a_style_element_cannot_be_closed_from_inside_by_escapes() -> None:
    cleaned = html_sanitize('<style>.x { content: "\\3c /style\\3e <script>" }</style>').html

    assert cleaned.count("</style>") == 1 and "<script" not in cleaned


def test_declarations_without_a_property_are_dropped() -> None:
    assert declarations_scrub("color: red; nonsense; ; font-weight:bold") == (
        "color: red; font-weight:bold"
    )


def test_remote_images_are_blocked_until_the_reader_asks() -> None:
    markup = (
        '<img src="https://tracker.test/open.gif?id=1&amp;u=2" width="1">'
        '<img src="//cdn.test/banner.png" alt="Sale">'
    )

    blocked = html_sanitize(markup)
    shown = html_sanitize(markup, show_images=True)

    assert " src=" not in blocked.html and blocked.remote_images == 2
    assert 'data-remote-src="https://tracker.test/open.gif?id=1&amp;u=2"' in blocked.html
    assert 'data-remote-src="https://cdn.test/banner.png"' in blocked.html
    assert 'src="https://tracker.test/open.gif?id=1&amp;u=2"' in shown.html
    assert 'src="https://cdn.test/banner.png"' in shown.html and shown.images_shown


def test_legacy_background_attributes_cannot_load_images() -> None:
    cleaned = html_sanitize(
        '<table background="https://t.test/a.png"><tr><td background="https://t.test/b.png">'
        "x</td></tr></table>"
    ).html

    assert "t.test" not in cleaned and "<td>x</td>" in cleaned


def test_cid_references_point_at_the_attachment_urls_and_unknown_ones_lose_their_source() -> None:
    cleaned = html_sanitize(
        '<img src="cid:Logo@Acme.test"><img src="cid:logo%40acme.test">'
        '<img src="cid:missing@acme.test"><a href="cid:doc@acme.test">the quote</a>',
        cid_urls={
            "<logo@acme.test>": "https://app.test/att/1?sig=a&b",
            "doc@acme.test": "https://app.test/att/2",
        },
    )

    assert cleaned.html.count('src="https://app.test/att/1?sig=a&amp;b"') == 2
    assert "<img>" in cleaned.html and "missing" not in cleaned.html
    assert 'href="https://app.test/att/2"' in cleaned.html
    assert cleaned.remote_images == 0


def test_links_open_in_a_new_context_without_opener_or_referrer() -> None:
    cleaned = html_sanitize(
        '<a href="https://acme.test/" target="_self" rel="opener">x</a>'
        '<a href="mailto:ada@acme.test">y</a>'
    ).html

    assert cleaned == (
        '<a href="https://acme.test/" target="_blank" rel="noopener noreferrer">x</a>'
        '<a href="mailto:ada@acme.test" target="_blank" rel="noopener noreferrer">y</a>'
    )


def test_relative_urls_cannot_point_into_the_application() -> None:
    cleaned = html_sanitize(
        '<a href="/settings/tokens/">x</a><img src="/api/v1/integrations/email/inbox">'
    ).html

    assert "/settings" not in cleaned and "/api/" not in cleaned


def test_ordinary_mail_layout_survives() -> None:
    markup = (
        '<table cellpadding="4" width="100%"><tr><td align="center" bgcolor="#eeeeee" '
        'style="font-family: Arial; padding: 8px">Hello <font color="#333">Ada</font></td></tr>'
        "</table><blockquote>quoted</blockquote><ul><li>one</li></ul>"
    )

    cleaned = html_sanitize(markup).html

    for kept in ('cellpadding="4"', 'bgcolor="#eeeeee"', "padding: 8px", '<font color="#333">'):
        assert kept in cleaned
    assert "<blockquote>quoted</blockquote>" in cleaned and "<li>one</li>" in cleaned


def test_plain_text_is_escaped_and_its_web_addresses_become_links() -> None:
    html = text_to_html("See https://acme.test/q?a=1&b=2.\n<script>alert(1)</script>")

    assert '<a href="https://acme.test/q?a=1&amp;b=2" target="_blank"' in html
    assert "&lt;script&gt;" in html and "<script" not in html
