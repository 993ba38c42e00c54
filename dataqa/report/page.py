"""What every report page shares: the Jinja environment, the inline assets, the
Content-Security-Policy and the JSON data block.

Safety model (dataset text is untrusted):
- templates are rendered with autoescape on, so text lands in the page as text;
- invisible and direction-changing characters are shown as visible ⟨U+202E⟩ markers,
  so a bidi override cannot reorder what a reader sees;
- the page's one script is a constant file whose sha256 goes into the CSP, so even a
  hypothetical escaping bug could not run an injected script or event handler;
- data for the script travels in a `<script type="application/json">` block with `<`,
  `>`, `&`, U+2028 and U+2029 escaped, read with `JSON.parse(textContent)`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from dataqa.report.charts import fmt, render_chart, safe_id
from dataqa.text.visible import has_hidden, is_hidden_char, make_visible

TEMPLATES = Path(str(resources.files("dataqa.report") / "templates"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # .j2 names do not match select_autoescape's defaults: force it on
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_visible_strings,
    )
    env.filters["fmt"] = fmt
    env.filters["shown"] = show_text
    env.filters["safe_id"] = safe_id
    env.filters["signed"] = signed
    env.filters["combine_title"] = titled
    env.filters["visible"] = make_visible
    env.globals["chart"] = render_chart
    return env


def _visible_strings(value: Any) -> Any:
    """Applied to every `{{ ... }}` output: plain strings get ⟨U+XXXX⟩ markers for
    invisible characters (Markup, i.e. already-rendered HTML, passes through)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return make_visible(value)
    return value


@lru_cache(maxsize=1)
def assets() -> dict[str, str]:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    return {"css": css, "js": js, "csp": content_security_policy(js)}


def content_security_policy(script: str) -> str:
    """No network, no plugins, no forms; only the page's own script (by hash) runs."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        "style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; "
        "img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def json_script(obj: Any) -> Markup:
    """JSON safe to place inside `<script type="application/json">`: no `</script>`,
    no `<!--`, no raw line separators, whatever the strings in `obj` hold."""
    # ensure_ascii: every non-ASCII character (bidi overrides, U+2028/9 included) as \uXXXX
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, sort_keys=True, default=str)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)


def show_text(value: Any) -> Markup:
    """Escape text and make invisible/control characters visible as ⟨U+XXXX⟩ markers."""
    s = "" if value is None else str(value)
    if not has_hidden(s):
        return escape(s)
    out = []
    for ch in s:
        if is_hidden_char(ch):
            out.append(
                Markup(
                    '<span class="ctl" title="invisible character U+{0:04X}">⟨U+{0:04X}⟩</span>'
                ).format(ord(ch))
            )
        else:
            out.append(escape(ch))
    return Markup("").join(out)


def signed(v: Any) -> str:
    """A difference with an explicit sign ("+3", "−2", "0") so it reads without colour."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "–"
    if v == 0:
        return "0"
    return ("+" if v > 0 else "−") + fmt(abs(v))


def titled(spec: Any, side: str) -> Any:
    """A copy of a chart spec whose title says which report it comes from."""
    if not isinstance(spec, dict):
        return spec
    return {**spec, "title": f"{spec.get('title') or 'Chart'} ({side})"}


def render(template: str, **context: Any) -> str:
    a = assets()
    return (
        environment()
        .get_template(template)
        .render(css=Markup(a["css"]), js=Markup(a["js"]), csp=a["csp"], **context)
    )
