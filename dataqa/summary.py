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
        sevs = [s for s in reversed(SEVERITIES) if c[s]]
        if len(sevs) == 1:
            lines.append(
                f"{check:<28} {paint(sevs[0], f'{sevs[0]:<8}')} {c['findings']:>8,} {c['rows']:>9,}"
            )
            continue
        for s in sevs:  # a check whose findings differ in severity: a line for each
            rows = {
                r for f in report.findings if (f.check, f.severity) == (check, s) for r in f.row_ids
            }
            lines.append(f"{check:<28} {paint(s, f'{s:<8}')} {c[s]:>8,} {len(rows):>9,}")
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


def format_finetune(report) -> str:
    """Terminal summary: the verdict first, then per-set scores, baseline, speed, warnings."""
    s = report.stats.get("finetune", {})
    lines = []
    for v in s.get("verdicts") or []:
        lines += [f"{v['question']} {v['answer']}.", v["headline"], *v["lines"], ""]
    lines += [
        f"model: {s.get('model', {}).get('origin', '?')}",
        f"device: {s.get('device', '?')}",
        "",
    ]
    if s.get("task") == "causal_lm":
        return "\n".join(lines + _lm_table(s) + _finetune_warnings(report))
    lines += [
        f"{'set':<12} {'train':>7} {'val':>6} {'runs':>4} {'accuracy':>9} {'macro-F1':>9} "
        f"{'baseline':>9} {'steps':>6} {'samples/s':>9}",
    ]
    for name, r in s.get("runs", {}).items():
        summ = r.get("summary", {})
        base = r.get("baseline", {}).get("test", {}).get("accuracy")
        sd = summ.get("accuracy_sd")
        acc = f"{summ.get('accuracy_mean', 0):.4f}" + (f"±{sd:.3f}" if sd else "")
        lines.append(
            f"{name:<12} {r['train_rows']:>7,} {r['val_rows']:>6,} {summ.get('runs', 1):>4} "
            f"{acc:>9} {summ.get('macro_f1_mean', 0):>9.4f} "
            f"{'' if base is None else f'{base:.4f}':>9} {r['train']['max_steps']:>6} "
            f"{r['train']['samples_per_s']:>9}" + ("  (cached)" if r.get("cached") else "")
        )
        per = ", ".join(
            f"seed {x['seed']}: {x['test']['accuracy']:.4f}" for x in r.get("seeds", [])
        )
        if per:
            lines.append(f"{'':<12} per seed: {per}")
    return "\n".join(lines + _finetune_warnings(report))


def _lm_table(s: dict) -> list[str]:
    """Per set: conversations, runs, held-out loss per assistant token and perplexity."""
    test = s.get("test", {})
    lines = [
        f"held-out: {test.get('conversations', 0):,} conversations, "
        f"{test.get('assistant_tokens', 0):,} assistant tokens "
        f"({s.get('template', {}).get('kind', '?')} template)",
        f"{'set':<12} {'train':>7} {'val':>6} {'runs':>4} {'loss':>12} {'perplexity':>10} "
        f"{'steps':>6} {'samples/s':>9}",
    ]
    for name, r in s.get("runs", {}).items():
        summ = r.get("summary", {})
        sd = summ.get("loss_sd")
        loss = f"{summ.get('loss_mean', 0):.4f}" + (f"±{sd:.3f}" if sd else "")
        lines.append(
            f"{name:<12} {r['train_rows']:>7,} {r['val_rows']:>6,} {summ.get('runs', 1):>4} "
            f"{loss:>12} {summ.get('perplexity_mean', 0):>10.2f} "
            f"{r['train']['max_steps']:>6} {r['train']['samples_per_s']:>9}"
            + ("  (cached)" if r.get("cached") else "")
        )
        per = ", ".join(f"seed {x['seed']}: {x['test']['loss']:.4f}" for x in r.get("seeds", []))
        if per:
            lines.append(f"{'':<12} per seed: {per}")
    return lines


def _finetune_warnings(report) -> list[str]:
    return [
        f"{f.severity.upper()}: {f.message}"
        for f in report.findings
        if f.check
        in (
            "finetune.overfitting",
            "finetune.leakage",
            "finetune.test_labels",
            "finetune.untrainable",
        )
    ]
