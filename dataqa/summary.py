"""Plain-text summary of a Report for the terminal (colour only on a terminal)."""

from __future__ import annotations

from dataqa.findings import SEVERITIES, Report

COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
RESET = "\033[0m"


def format_summary(report: Report, *, color: bool = False, top: int = 12) -> str:
    def paint(sev: str, text: str) -> str:
        return f"{COLORS[sev]}{text}{RESET}" if color else text

    meta, counts = report.meta, report.counts()
    ds = report.stats.get("dataset", {})
    lines = [
        f"dataqa {meta.get('version', '')} audit of {meta.get('input', {}).get('path', '?')}: "
        f"{ds.get('rows', 0):,} rows" + (f", {ds['classes']} classes" if "classes" in ds else "")
    ]
    sev = counts["by_severity"]
    lines.append(
        "findings: "
        + ", ".join(paint(s, f"{sev[s]} {s}") for s in reversed(SEVERITIES))
        + f"; {counts['rows_flagged']:,} rows flagged"
    )
    if meta.get("skipped"):
        for name, why in meta["skipped"].items():
            lines.append(f"  skipped {name}: {why}")
    lines.append("")
    lines.append(f"{'check':<28} {'severity':<8} {'findings':>8} {'rows':>9}")
    for check, c in counts["by_check"].items():
        worst = next(s for s in reversed(SEVERITIES) if c[s])
        lines.append(
            f"{check:<28} {paint(worst, f'{worst:<8}')} {c['findings']:>8,} {c['rows']:>9,}"
        )
    # within a severity, findings about the whole data set first (e.g. "cannot estimate
    # label errors here"): one of them qualifies every row-level finding of its check
    ranked = sorted(
        report.findings,
        key=lambda f: (-SEVERITIES.index(f.severity), bool(f.row_ids), -len(f.row_ids)),
    )
    if ranked:
        lines.append("")
        lines.append("top findings:")
        for f in ranked[:top]:
            ids = ", ".join(map(str, f.row_ids[:5])) + (" ..." if len(f.row_ids) > 5 else "")
            lines.append(
                f"  {paint(f.severity, f.severity[:4].upper())} {f.check}: {f.message}"
                + (f" [rows {ids}]" if ids else "")
            )
    return "\n".join(lines)
