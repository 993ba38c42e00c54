"""`dataqa checks`: what is installed, each check's options and finding kinds."""

from __future__ import annotations

import json

import click

from dataqa.cli.common import EPILOG_DONE


@click.command("checks", epilog=EPILOG_DONE)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: one object per check.")
@click.argument("names", nargs=-1, metavar="[CHECK]...")
def checks_command(as_json, names):
    """List the checks, whether they are installed, their options and finding kinds.

    \b
    Examples:
      dataqa checks
      dataqa checks hygiene duplicates
      dataqa checks --json
    """
    from dataqa.checks import REGISTRY, check_class, installed
    from dataqa.errors import DataQAError
    from dataqa.fixes import allowed_policies
    from dataqa.options import describe

    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise DataQAError(
            f"unknown check {unknown[0]!r}", hint=f"choose from: {', '.join(REGISTRY)}"
        )
    out = []
    for name, (_, needs, extra) in REGISTRY.items():
        if names and name not in names:
            continue
        entry = {"name": name, "installed": installed(name)}
        if not entry["installed"]:
            entry["install"] = f"pip install 'dataqa-finetune[{extra}]'  (needs {', '.join(needs)})"
        else:
            cls = check_class(name)
            entry["options"] = describe(cls.Options)
            entry["kinds"] = [
                {
                    "kind": k.name,
                    "severity": k.severity,
                    "fix": k.fix.action,
                    "policy": k.policy,
                    "policies": list(allowed_policies(k)) if k.rows else [],
                    "finds": k.summary,
                }
                for k in cls.kinds
            ]
        out.append(entry)
    if as_json:
        click.echo(json.dumps(out, indent=1, default=str))
        return
    for entry in out:
        if not entry["installed"]:
            click.echo(f"{entry['name']:<12} missing: {entry['install']}")
            continue
        click.echo(f"{entry['name']}")
        for o in entry["options"]:
            click.echo(f"  -s {entry['name']}.{o['name']}  {o['allowed']}")
            if o["description"]:
                click.echo(f"      {o['description']}")
        for k in entry["kinds"]:
            pol = f"clean: {k['policy']}" + (
                f" (or {', '.join(p for p in k['policies'] if p != k['policy'])})"
                if len(k["policies"]) > 1
                else ""
            )
            click.echo(f"  finds {k['kind']:<30} {k['severity']:<8} {pol}  - {k['finds']}")
