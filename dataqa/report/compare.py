"""Comparison mode: two reports (e.g. before and after cleaning) side by side.

Data-driven so later stages need no change here: every stats key either report carries
(`clean`, `augment`, `finetune`, any check family) gets a section with its scalar stats
before/after/difference and the charts each side supplied (`stats[key]["charts"]`),
paired by chart id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataqa.charts import derived_charts
from dataqa.dataset import atomic_write_text
from dataqa.findings import Report
from dataqa.report.charts import safe_id
from dataqa.report.html import report_dict
from dataqa.report.page import json_script, render
from dataqa.report.view import (
    FAMILY_BLURB,
    SEVERITIES,
    SEVERITY_ICON,
    STAGES,
    verdict,
)

MAX_SCALARS = 80
MAX_CHECK_ROWS = 200
MAX_CHART_PAIRS = 12


def flatten(stats: Any, prefix: str = "", depth: int = 0, out: dict | None = None) -> dict:
    """Scalars (numbers, strings, booleans) of a nested stats dict by dotted key; charts,
    histograms and lists are left to the charts."""
    out = {} if out is None else out
    if not isinstance(stats, dict) or depth > 3:
        return out
    if "edges" in stats and "counts" in stats:
        return out
    for k, v in stats.items():
        if k == "charts":
            continue
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            flatten(v, key, depth + 1, out)
        elif v is None or isinstance(v, (int, float, str, bool)):
            out[key] = v
    return out


def _delta(a: Any, b: Any) -> float | None:
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
        return b - a
    return None


def side_by_side(a: dict, b: dict, limit: int = MAX_SCALARS) -> list[dict]:
    keys = list(dict.fromkeys(list(a) + list(b)))
    return [
        {"key": k, "before": a.get(k), "after": b.get(k), "delta": _delta(a.get(k), b.get(k))}
        for k in keys[:limit]
    ]


def _facts(d: dict) -> dict:
    meta = d.get("meta") or {}
    inp = meta.get("input") if isinstance(meta.get("input"), dict) else {}
    ds = (d.get("stats") or {}).get("dataset") or {}
    counts = d.get("counts") or {}
    sev = counts.get("by_severity") or {}
    return {
        "input": inp.get("path"),
        "rows": ds.get("rows", inp.get("rows")),
        "classes": ds.get("classes"),
        "groups": ds.get("groups"),
        "findings": len(d.get("findings") or []),
        "rows flagged": counts.get("rows_flagged"),
        **{f"{s} findings": sev.get(s, 0) for s in reversed(SEVERITIES)},
        "input sha256": (inp.get("sha256") or "")[:16] or None,
        "created": meta.get("created"),
        "dataqa version": meta.get("version"),
    }


def _checks(a: dict, b: dict) -> list[dict]:
    ca = (a.get("counts") or {}).get("by_check") or {}
    cb = (b.get("counts") or {}).get("by_check") or {}
    rows = []
    for check in sorted(set(ca) | set(cb)):
        x, y = ca.get(check) or {}, cb.get(check) or {}
        worst = next(
            (s for s in reversed(SEVERITIES) if x.get(s) or y.get(s)),
            "info",
        )
        rows.append(
            {
                "check": check,
                "worst": worst,
                "icon": SEVERITY_ICON[worst],
                "findings_before": x.get("findings", 0),
                "findings_after": y.get("findings", 0),
                "rows_before": x.get("rows", 0),
                "rows_after": y.get("rows", 0),
                "delta_rows": y.get("rows", 0) - x.get("rows", 0),
            }
        )
    rows.sort(key=lambda r: (-SEVERITIES.index(r["worst"]), r["delta_rows"], r["check"]))
    return rows[:MAX_CHECK_ROWS]


def _labels(a: dict, b: dict) -> tuple[list[dict], list[dict]]:
    la = ((a.get("stats") or {}).get("dataset") or {}).get("label_counts") or {}
    lb = ((b.get("stats") or {}).get("dataset") or {}).get("label_counts") or {}
    if not la and not lb:
        return [], []
    ta, tb = sum(la.values()) or 1, sum(lb.values()) or 1
    labels = sorted(set(la) | set(lb), key=lambda k: (-(la.get(k, 0) + lb.get(k, 0)), k))
    rows = [
        {
            "label": k,
            "before": la.get(k, 0),
            "after": lb.get(k, 0),
            "delta": lb.get(k, 0) - la.get(k, 0),
            "share_before": la.get(k, 0) / ta,
            "share_after": lb.get(k, 0) / tb,
        }
        for k in labels
    ]
    chart = {
        "id": "compare-label-counts",
        "type": "bar",
        "title": "Rows per class, before and after",
        "x_label": "class",
        "y_label": "rows",
        "data": {
            "labels": labels,
            "series": {
                "before": [la.get(k, 0) for k in labels],
                "after": [lb.get(k, 0) for k in labels],
            },
        },
    }
    return rows, [chart]


def _charts(stats: Any, family: str) -> list[dict]:
    own = stats.get("charts") if isinstance(stats, dict) else None
    charts = [c for c in (own if isinstance(own, list) else []) if isinstance(c, dict)]
    have = {c.get("id") for c in charts}
    charts += [c for c in derived_charts(family, stats) if c["id"] not in have]
    return charts


def _pairs(sa: Any, sb: Any, family: str) -> list[dict]:
    """Charts of both sides, paired by id (a chart only one side has stands alone)."""
    ca, cb = _charts(sa, family), _charts(sb, family)
    by_id_b = {c.get("id"): c for c in cb}
    pairs = []
    for c in ca:
        pairs.append({"before": c, "after": by_id_b.pop(c.get("id"), None)})
    for c in cb:
        if c.get("id") in by_id_b:
            pairs.append({"before": None, "after": c})
    return pairs[:MAX_CHART_PAIRS]


def _sections(a: dict, b: dict) -> list[dict]:
    sa, sb = a.get("stats") or {}, b.get("stats") or {}
    names = (set(sa) | set(sb)) - {"dataset"}
    ran = [
        *((a.get("meta") or {}).get("checks") or []),
        *((b.get("meta") or {}).get("checks") or []),
    ]
    order = [s for s in STAGES if s in names] + [f for f in dict.fromkeys(ran) if f in names]
    order += sorted(names - set(order))
    out = []
    for name in order:
        out.append(
            {
                "name": name,
                "anchor": "family-" + safe_id(name, "other"),
                "title": name.replace("_", " ").capitalize(),
                "blurb": FAMILY_BLURB.get(name, ""),
                "presence": "both"
                if name in sa and name in sb
                else ("before only" if name in sa else "after only"),
                "scalars": side_by_side(flatten(sa.get(name)), flatten(sb.get(name))),
                "pairs": _pairs(sa.get(name), sb.get(name), name),
            }
        )
    return out


def build_comparison(before: Report | dict, after: Report | dict) -> dict:
    a, b = report_dict(before), report_dict(after)
    fa, fb = _facts(a), _facts(b)
    label_rows, label_charts = _labels(a, b)
    va = verdict(a.get("findings") or [], a.get("meta") or {})
    vb = verdict(b.get("findings") or [], b.get("meta") or {})
    return {
        "verdicts": [{"side": "before", **va}, {"side": "after", **vb}],
        "facts": side_by_side(fa, fb),
        "checks": _checks(a, b),
        "labels": label_rows,
        "label_charts": label_charts,
        "dataset_other": side_by_side(
            flatten(
                {
                    k: v
                    for k, v in ((a.get("stats") or {}).get("dataset") or {}).items()
                    if k != "label_counts"
                }
            ),
            flatten(
                {
                    k: v
                    for k, v in ((b.get("stats") or {}).get("dataset") or {}).items()
                    if k != "label_counts"
                }
            ),
        ),
        "sections": _sections(a, b),
        "before": a,
        "after": b,
    }


def render_comparison(
    before: Report | dict,
    after: Report | dict,
    *,
    names: tuple[str, str] = ("before", "after"),
) -> str:
    """The comparison page as a string; `names` label the two reports (e.g. file names)."""
    c = build_comparison(before, after)
    data = {
        "kind": "comparison",
        "names": list(names),
        "counts": {"before": c["before"].get("counts"), "after": c["after"].get("counts")},
        "sections": [s["name"] for s in c["sections"]],
    }
    return render(
        "compare.html.j2",
        page_title=f"dataqa comparison — {names[0]} vs {names[1]}",
        c=c,
        names=names,
        version=(c["after"].get("meta") or {}).get("version"),
        page_json=json_script(data),
    )


def write_comparison(
    before: Report | dict,
    after: Report | dict,
    path: str | Path,
    *,
    names: tuple[str, str] = ("before", "after"),
) -> Path:
    return atomic_write_text(path, render_comparison(before, after, names=names))
