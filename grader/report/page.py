"""The HTML shell shared by the overview and the feedback pages: one self-contained file each,
inline CSS, no script, no request to the network.

Student text is escaped with `esc` wherever it enters HTML. A Content-Security-Policy that allows
no script, no remote resource and no form is a second line of defence, not the first.
"""

from __future__ import annotations

import html
from functools import lru_cache

#: No scripts, no remote fetches, no forms, no plugins; inline styles and SVG only.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa;
  --good:#1a7f37; --good-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --warn:#9a6700;
  --warn-bg:#fff8c5; --accent:#0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
p.sub, .muted { color: var(--muted); }
a { color: var(--accent); }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 130px;
  background: var(--soft); }
.card .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; max-width: 100%; }
figcaption { color: var(--muted); font-size: 13px; }
svg { display: block; max-width: 100%; height: auto; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; border-radius: 10px;
  padding: 1px 8px; vertical-align: middle; }
.badge.review { background: var(--warn-bg); color: var(--warn); }
.badge.error { background: var(--bad-bg); color: var(--bad); }
.badge.ok { background: var(--good-bg); color: var(--good); }
mark { background: var(--good-bg); color: inherit; padding: 0 2px; border-radius: 3px; }
mark.bad { background: var(--bad-bg); }
blockquote { margin: 4px 0 8px; padding: 4px 12px; border-left: 3px solid var(--line);
  white-space: pre-wrap; overflow-wrap: anywhere; }
.quote { overflow-wrap: anywhere; }
ul.items { padding-left: 20px; }
ul.items > li { margin: 6px 0; }
.pts { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.question { border: 1px solid var(--line); border-radius: 8px; padding: 4px 16px 8px; margin: 16px 0; }
.question h2 { border: 0; margin-top: 12px; }
.heat td.cell { text-align: center; font-variant-numeric: tabular-nums; min-width: 36px;
  white-space: nowrap; }
#heatmap thead th { font-size: 12px; }
#heatmap thead tr + tr th { padding: 4px; }
#heatmap tbody th { position: sticky; left: 0; background: var(--soft); }
details { margin: 8px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { .scroll { overflow: visible; } a { color: inherit; } }
"""


#: Texts up to this long are escaped once and remembered (a rubric's descriptions and hints come
#: back on every student's page); longer ones, such as a student's run-on sentence, are not kept.
CACHED_TEXT_CHARS = 1000


def esc(value: object) -> str:
    """Text for HTML element content and attribute values: & < > " ' escaped."""
    if isinstance(value, str) and len(value) <= CACHED_TEXT_CHARS:
        return _escape(value)
    return html.escape(str(value), quote=True)


@lru_cache(maxsize=8192)
def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def render_page(title: str, body: str, *, lang: str = "en") -> str:
    """A complete, self-contained HTML document. `title` is escaped; `body` is trusted HTML
    that its caller built with `esc`."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
