"""MkDocs hook: pages generated from the code at build time, so they cannot drift.

- `checks/<name>.md`: what the check finds (its docstring), the roles it needs, its
  options (`dataqa.options.describe` of its Options model: default, allowed values, the
  source behind the default), its finding kinds (`Check.kinds`) with their fixes and
  clean policies, and an example finding from running it on the demo's planted faults
  (chat records with planted faults for the conversations check);
- `reference/report-schema.md`, `reference/rules-schema.md` and
  `reference/pipeline-schema.md`: the JSON schemas;
- `reference/pipeline.md`: the keys `dataqa run` accepts and rules/pipeline.example.yaml;
- `reference/cli.md`: every command's --help.

Offline: nothing is fetched; the demo data is generated.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.hooks.dataqa")


def on_config(config):
    """Every check's page under Checks in the navigation, in the registry's order."""
    from dataqa.checks import REGISTRY

    pages = ["checks/index.md", *(f"checks/{name}.md" for name in REGISTRY)]
    for i, entry in enumerate(config["nav"] or []):
        if isinstance(entry, dict) and entry.get("Checks") == "checks/index.md":
            config["nav"][i] = {"Checks": pages}
    return config


def on_files(files, config):
    pages = {
        "checks/index.md": checks_index(),
        **{f"checks/{name}.md": text for name, text in check_pages().items()},
        "reference/report-schema.md": schema_page(
            "Report JSON schema",
            "dataqa/schema/report.schema.json",
            "What `dataqa audit --json` (and `finetune`, `run`) write. Minor versions only "
            "add optional fields. Each chart in `stats.<family>.charts` carries its Vega-Lite "
            "spec under `vega_lite` (schema 1.2).",
        ),
        "reference/rules-schema.md": schema_page(
            "Rules file schema",
            "dataqa/schema/rules.schema.json",
            "What a rules YAML (`dataqa audit --rules FILE`) may hold; generated from the "
            "rule types (`dataqa.checks.rules.spec.rules_json_schema`). Editors validate and "
            "complete rules files against it. rules/README.md explains every rule type.",
        ),
        "reference/pipeline.md": pipeline_page(),
        "reference/pipeline-schema.md": schema_page(
            "Pipeline file schema",
            "dataqa/schema/pipeline.schema.json",
            "What a pipeline YAML (`dataqa run FILE`) may hold; generated from the keys "
            "`dataqa.pipeline` accepts and the stages' option models "
            "(`dataqa.pipeline.pipeline_json_schema`). [Pipeline YAML](pipeline.md) explains "
            "each key.",
        ),
        "reference/cli.md": cli_page(),
    }
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    return files


# ---------------------------------------------------------------- checks


def _table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


EXAMPLE_INPUT = {
    None: "on the demo data (`dataqa demo`)",
    "conversations": "on forty chat records with planted faults (a refusal, a record "
    "without an assistant turn, an empty answer)",
    "relevance": "on the demo data with 24 banking questions planted, against the demo's "
    "test reviews as `--reference`",
}
"""What each check's example finding was found in."""


def _examples() -> dict:
    """The first finding of each check on the demo's planted faults (None when the demo
    triggers none)."""
    from dataqa.checks import REGISTRY, installed
    from dataqa.dataset import from_frame
    from dataqa.demo import make_demo
    from dataqa.stages.audit import audit

    train, test, _ = make_demo(rows=600, seed=7)
    ds = from_frame(train, group_col="brand")
    chats = from_frame(_chat_demo(), schema="chat")
    out = {}
    for name in REGISTRY:
        if not installed(name):
            out[name] = None
            continue
        options = (
            {"rules": {"path": str(ROOT / "rules" / "strict.yaml")}} if name == "rules" else {}
        )
        if name == "conversations":  # skipped on classification data: give it chat records
            report = audit(chats, checks=[name])
        elif name == "relevance":  # off-topic rows need a domain: the demo's test reviews
            report = audit(
                from_frame(_off_topic(train), group_col="brand"),
                checks=[name],
                reference=from_frame(test, group_col="brand"),
            )
        else:
            report = audit(ds, checks=[name], against=test, options=options)
        rows = [f for f in report.findings if f.row_ids] or report.findings
        out[name] = rows[0].to_dict() if rows else None
    return out


def _off_topic(train):
    """The demo's reviews with 24 banking questions planted at the end (off-topic)."""
    import pandas as pd

    extra = train.iloc[:24].copy()
    extra["text"] = [
        f"How do I order a new card for account {i}? My transfer {i} was declined twice."
        for i in range(24)
    ]
    return pd.concat([train, extra], ignore_index=True)


def _chat_demo():
    """Forty chat records (OpenAI messages) with three planted faults: an answer that
    refuses, a record without an assistant turn, an empty answer."""
    import pandas as pd

    def record(user: str, answer: str | None) -> dict:
        turns = [
            {"role": "system", "content": "You are a helpful banking assistant."},
            {"role": "user", "content": user},
        ]
        if answer is not None:
            turns.append({"role": "assistant", "content": answer})
        return {"messages": turns}

    rows = [
        record(
            f"How do I order a new card for account {i}?",
            f"Open the app, choose Cards, then Order a card; account {i} gets it in "
            f"{3 + i % 4} working days.",
        )
        for i in range(40)
    ]
    rows[5] = record("Tell me a joke about banks", "As an AI language model, I cannot do that.")
    rows[11] = record("Why was my transfer declined?", None)
    rows[17] = record("Can I freeze my card?", "")
    return pd.DataFrame(rows)


def check_pages() -> dict[str, str]:
    from dataqa.checks import REGISTRY, check_class, installed
    from dataqa.fixes import allowed_policies
    from dataqa.options import describe

    examples = _examples()
    pages = {}
    for name, (_, needs, extra) in REGISTRY.items():
        lines = [f"# {name}\n"]
        if not installed(name):
            lines.append(
                f"Needs `pip install 'dataqa-finetune[{extra}]'` ({', '.join(needs)}); "
                "this page was built without it.\n"
            )
            pages[name] = "\n".join(lines)
            continue
        cls = check_class(name)
        own = cls.__dict__.get("__doc__")  # not the base class's
        doc = inspect.cleandoc(own) if own else inspect.getdoc(inspect.getmodule(cls)) or ""
        lines.append(doc + "\n")
        lines.append(f"**Needs** the columns: {', '.join(f'`{r}`' for r in cls.needs)}.")
        if extra:
            lines.append(f" Installed with `pip install 'dataqa-finetune[{extra}]'`.")
        lines.append("\n\n## Options\n")
        opts = describe(cls.Options)
        if opts:
            lines.append(f"Set with `-s {name}.OPTION=VALUE` or under `options: {name}:` "
                         "in the pipeline YAML.\n")  # fmt: skip
            lines.append(
                _table(
                    ["option", "default", "allowed", "what it does, and the source of the default"],
                    [
                        [f"`{o['name']}`", f"`{o['default']!r}`", o["allowed"], o["description"]]
                        for o in opts
                    ],
                )
            )
        else:
            lines.append("None.\n")
        lines.append("\n## What it finds\n")
        lines.append(
            "Each kind of finding, its default severity, the fix it carries and what `clean` "
            "does with it by default (`-p KIND=POLICY` picks another).\n"
        )
        lines.append(
            _table(
                ["kind", "finds", "severity", "fix", "clean policy", "other policies"],
                [
                    [
                        f"`{k.name}`",
                        k.summary,
                        k.severity,
                        f"`{k.fix.action}`",
                        k.policy,
                        ", ".join(p for p in allowed_policies(k) if p != k.policy) or "–",
                    ]
                    for k in cls.kinds
                ],
            )
        )
        lines.append("\n## An example finding\n")
        ex = examples.get(name)
        if ex is None:
            # a warning fails `mkdocs build --strict`: every installed check shows a finding
            log.warning("docs: the %s check found nothing in its example data", name)
            lines.append("The demo's planted faults trigger none of this check's findings.\n")
        else:
            ex["row_ids"] = ex["row_ids"][:10]
            for e in ex.get("evidence", {}).get("examples", [])[3:]:
                ex["evidence"]["examples"].remove(e)
            text = json.dumps(ex, indent=1, ensure_ascii=False, default=str)
            lines.append(
                f"From `dataqa audit` {EXAMPLE_INPUT.get(name, EXAMPLE_INPUT[None])}, as the "
                "JSON report holds it (row ids and examples shortened):\n\n```json\n"
                + text[:4000]
                + "\n```\n"
            )
        pages[name] = "\n".join(lines)
    return pages


def checks_index() -> str:
    from dataqa.checks import DEFAULT_CHECKS, REGISTRY

    rows = [
        [f"[{n}]({n}.md)", "yes" if n in DEFAULT_CHECKS else "no", extra or "–"]
        for n, (_, _, extra) in REGISTRY.items()
    ]
    return (
        "# Checks\n\nEvery check, its options and the kinds of finding it emits. "
        "`dataqa checks` prints the same from the installed package.\n\n"
        + _table(["check", "runs by default", "extra to install"], rows)
    )


# ---------------------------------------------------------------- schemas, pipeline, CLI


def schema_page(title: str, rel: str, intro: str) -> str:
    schema = json.loads((ROOT / rel).read_text(encoding="utf-8"))
    rows = []
    for key, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") or ("one of" if "enum" in spec else "")
        rows.append([f"`{key}`", kind, spec.get("description", "")])
    top = _table(["key", "type", "what it holds"], rows) if rows else ""
    return (
        f"# {title}\n\n{intro}\n\nFile: `{rel}`.\n\n{top}\n"
        f"```json\n{json.dumps(schema, indent=2, ensure_ascii=False)}\n```\n"
    )


def pipeline_page() -> str:
    from dataqa import pipeline
    from dataqa.augmentation.stage import AugmentOptions
    from dataqa.options import describe
    from dataqa.stages.policies import CleanOptions
    from dataqa.train.options import TrainOptions

    def options_table(model) -> str:
        return _table(
            ["key", "default", "allowed", "what it does"],
            [
                [f"`{o['name']}`", f"`{o['default']!r}`", o["allowed"], o["description"]]
                for o in describe(model)
            ],
        )

    aug = [
        [f"`{f.name}`", f"`{f.default!r}`" if f.default is not dataclasses.MISSING else "–"]
        for f in dataclasses.fields(AugmentOptions)
    ]

    def keys(s) -> str:
        return ", ".join(f"`{k}`" for k in sorted(s))

    example = (ROOT / "rules" / "pipeline.example.yaml").read_text(encoding="utf-8")
    return (
        "# Pipeline YAML\n\n`dataqa run FILE` runs audit -> clean -> augment -> finetune "
        "from one YAML file and writes `report.json`, `report.html` and a before/after "
        "`compare.html`. Every key is checked before anything runs; editors can validate "
        "the file against `dataqa/schema/pipeline.schema.json` (generated from the same "
        "keys and option models as this page).\n\n"
        f"- top level: {keys(pipeline.TOP_KEYS)}\n"
        f"- `data:` {keys(pipeline.DATA_KEYS)}\n"
        f"- `stages:` {keys(pipeline.STAGES)} (a stage left out or `false` does not run)\n"
        f"- `stages.audit:` {keys(pipeline.AUDIT_KEYS)} (`options:` per check, as on the "
        "[check pages](../checks/index.md))\n"
        f"- `stages.augment:` {keys(pipeline.AUGMENT_KEYS)}; `options:` below\n"
        f"- `stages.finetune:` the training settings below and {keys(pipeline.FINETUNE_EXTRA)}\n"
        "\n## stages.clean\n\n"
        + options_table(CleanOptions)
        + "\n## stages.augment.options\n\n"
        + _table(["key", "default"], aug)
        + "\n## stages.finetune\n\n"
        "Settings left at `None` take the model's own default (see `dataqa finetune --help`).\n\n"
        + options_table(TrainOptions)
        + "\n## The example file\n\n`rules/pipeline.example.yaml`:\n\n```yaml\n"
        + example
        + "```\n"
    )


def cli_page() -> str:
    import click

    from dataqa.cli import COMMANDS, cli

    parts = ["# Command line\n"]
    ctx = click.Context(cli, info_name="dataqa")
    parts.append("```text\n" + cli.get_help(ctx) + "\n```\n")
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        if cmd is None:
            continue
        sub = click.Context(cmd, info_name=name, parent=ctx)
        parts.append(f"## dataqa {name}\n\n```text\n{cmd.get_help(sub)}\n```\n")
    return "\n".join(parts)
