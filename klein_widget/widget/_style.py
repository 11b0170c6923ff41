"""The panel's look: one small stylesheet and HTML helpers, theme-aware.

Colours come from JupyterLab's theme variables with fallbacks, so the panel reads in
light and dark themes (and in Voila, VS Code and Colab). Structure is set through widget
``Layout`` objects; the stylesheet only refines it, so the panel still works if a
front end drops ``<style>`` from HTML widgets.

Example:
    >>> line("Done", kind="ok").startswith('<div class="klein-line klein-ok"')
    True
"""

from __future__ import annotations

import html
from typing import Literal

Kind = Literal["info", "busy", "ok", "warn", "error", "muted"]

FG = "var(--jp-ui-font-color1, #333)"
FG_MUTED = "var(--jp-ui-font-color2, #666)"
BORDER = "var(--jp-border-color2, #ccc)"
CODE_BG = "var(--jp-layout-color2, rgba(128, 128, 128, 0.1))"

_KIND_COLOURS: dict[Kind, str] = {
    "info": FG,
    "busy": "var(--jp-brand-color1, #1976d2)",
    "ok": "var(--jp-success-color1, #388e3c)",
    "warn": "var(--jp-warn-color1, #e65100)",
    "error": "var(--jp-error-color1, #d32f2f)",
    "muted": FG_MUTED,
}
_MARKS: dict[Kind, str] = {"busy": "◌", "ok": "✓", "warn": "!", "error": "✕"}

STYLESHEET = f"""<style>
.klein-panel {{ color: {FG}; border-radius: 6px; }}
.klein-panel .klein-title {{ font-size: 14px; font-weight: 600; }}
.klein-panel .klein-code {{
  margin: 0; padding: 8px 10px; max-height: 220px; overflow: auto; white-space: pre;
  background: {CODE_BG}; color: {FG}; border-radius: 4px; font-size: 12px; line-height: 1.45;
  font-family: var(--jp-code-font-family, ui-monospace, monospace); user-select: text;
}}
.klein-panel .klein-thumb {{ position: relative; flex: 0 0 auto; }}
.klein-panel .klein-thumb img {{ border-radius: 4px; border: 1px solid {BORDER}; }}
.klein-panel .klein-thumb .widget-button {{
  font-size: 11px; height: 20px; line-height: 20px; padding: 0 2px;
  background: transparent; box-shadow: none; color: {FG_MUTED};
}}
.klein-panel .klein-thumb.klein-current img {{
  border-color: var(--jp-brand-color1, #1976d2);
  box-shadow: 0 0 0 1px var(--jp-brand-color1, #1976d2);
}}
.klein-panel .klein-thumb .widget-button:hover {{ color: {FG}; text-decoration: underline; }}
.klein-panel .klein-thumb .widget-button:focus:not(:focus-visible) {{ outline: none; }}
.klein-panel .klein-main-image img {{ max-width: 100%; height: auto; border-radius: 4px; }}
.klein-panel .klein-preset.mod-active {{ font-weight: 600; }}
.klein-panel .widget-html-content {{ line-height: 1.4; }}
</style>"""


def escape(text: str) -> str:
    """HTML-escape user text (prompts, server messages)."""
    return html.escape(text, quote=True)


def line(text_html: str, *, kind: Kind = "info", mark: bool = True) -> str:
    """One status line, coloured by ``kind``; ``text_html`` must already be escaped."""
    symbol = _MARKS.get(kind, "") if mark else ""
    prefix = f'<span aria-hidden="true">{symbol}</span> ' if symbol else ""
    style = f"color: {_KIND_COLOURS[kind]}; margin: 1px 0; white-space: normal"
    return f'<div class="klein-line klein-{kind}" style="{style}">{prefix}{text_html}</div>'


def code_block(code: str) -> str:
    """A ``<pre>`` with the code, escaped, styled inline as well as by the stylesheet."""
    style = (
        f"margin: 0; padding: 8px 10px; max-height: 220px; overflow: auto; white-space: pre; "
        f"background: {CODE_BG}; color: {FG}; border-radius: 4px; font-size: 12px; "
        "font-family: var(--jp-code-font-family, monospace)"
    )
    return f'<pre class="klein-code" style="{style}">{escape(code)}</pre>'


def small(text_html: str, *, kind: Kind = "muted") -> str:
    """A short muted note."""
    return f'<span style="color: {_KIND_COLOURS[kind]}; font-size: 12px">{text_html}</span>'
