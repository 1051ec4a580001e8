"""The run report's HTML: one self-contained page (inline CSS, images as data URIs, no scripts,
no network requests) with a table of contents and one section per topic."""

import base64
import html
from dataclasses import dataclass, field

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 0; color: #1d232b; background: #f4f6f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,.06); }
h1 { font-size: 1.7em; margin: .2em 0 .1em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #dde3ea; padding-bottom: .2em; margin-top: 2.2em; }
.subtitle { color: #5a6673; margin: 0 0 1em; }
nav { background: #f7f9fb; border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 18px; }
nav ol { margin: .3em 0; padding-left: 1.4em; columns: 2; }
nav a { color: #1f5fa8; text-decoration: none; }
nav a:hover { text-decoration: underline; }
figure { margin: 1em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e6eaef; }
figcaption { color: #5a6673; font-size: .9em; margin-top: .3em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #dde3ea; padding: 3px 9px; text-align: left; }
th { background: #f0f3f6; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
pre { background: #f7f9fb; border: 1px solid #dde3ea; padding: 10px; overflow-x: auto; font-size: .85em; }
.note { background: #fff8e5; border-left: 4px solid #e0b000; padding: 8px 12px; }
.figures { display: flex; flex-wrap: wrap; gap: 10px 28px; }
.figures div { min-width: 140px; }
.figures .value { font-size: 1.5em; font-weight: 600; }
.figures .label { color: #5a6673; font-size: .85em; }
.verdict { font-size: 1.15em; font-weight: 600; }
"""


@dataclass
class Section:
    """One part of the report: ``anchor`` is its id in the page, ``parts`` its HTML pieces in order."""

    anchor: str
    title: str
    parts: list[str] = field(default_factory=list)


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def image_tag(png: bytes, alt: str, caption: str | None = None, width: int | None = None) -> str:
    """A figure with the PNG embedded as a data URI."""
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    style = f' style="max-width: min(100%, {width}px)"' if width else ""
    text = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{source}" alt="{escape(alt)}"{style}>{text}</figure>'


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def _cell(value) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
    return f'<td class="number">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def headline_figures(pairs: list[tuple[str, str]]) -> str:
    """Big numbers with small labels, e.g. [('test accuracy', '98.2%')]."""
    items = "".join(f'<div><div class="value">{escape(v)}</div><div class="label">{escape(k)}</div></div>'
                    for k, v in pairs)
    return f'<div class="figures">{items}</div>'


def render_page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole page: heading, table of contents, sections."""
    contents = "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>' for s in sections)
    body = "".join(f'<section id="{escape(s.anchor)}"><h2>{escape(s.title)}</h2>{"".join(s.parts)}</section>'
                   for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
            f"<h1>{escape(title)}</h1><p class=\"subtitle\">{escape(subtitle)}</p>"
            f"<nav><strong>Contents</strong><ol>{contents}</ol></nav>{body}</main></body></html>\n")
