"""`dataqa augment`: filtered paraphrases for the classes that need them."""

from __future__ import annotations

import click

from dataqa.cli.common import (
    force_option,
    load_input,
    output_format_option,
    quiet_option,
    role_options,
    setup_logging,
)


@click.command(
    "augment", epilog="Exit codes: 0 ok, 2 dataqa could not run (bad input, missing WordNet)."
)
@click.argument("path")
@role_options
@click.option(
    "-o", "--output", "out", required=True, metavar="OUT", help="Where the augmented set goes."
)
@click.option(
    "--method",
    "methods",
    default="synonym",
    show_default=True,
    metavar="M[,M]",
    help="synonym, eda, backtranslate; several split the rows between them.",
)
@click.option(
    "--plan", "plan_path", metavar="JSON", help="Audit report with a balance plan, or a plan JSON."
)
@click.option(
    "--target", type=click.Choice(["balance"]), help="Grow every class to the largest class's size."
)
@click.option("--per-class", type=int, metavar="N", help="Grow every class to at least N rows.")
@click.option("--factor", type=float, metavar="F", help="Grow every class to F times its size.")
@click.option(
    "--engine",
    type=click.Choice(["apertium", "marian"]),
    default="apertium",
    show_default=True,
    help="Back-translation engine (Apertium: offline CPU, Debian apertium-eng-spa).",
)
@click.option("--model", metavar="PATH", help="Marian en->pivot checkpoint (folder or hub name).")
@click.option("--back-model", metavar="PATH", help="Marian pivot->en checkpoint.")
@click.option(
    "--synonym-backend",
    type=click.Choice(["native", "nlpaug"]),
    default="native",
    show_default=True,
)
@click.option(
    "--rate", type=float, default=0.1, show_default=True, help="Share of words an edit touches."
)
@click.option(
    "--eda-rates", metavar="SR,RI,RS,RD", help="Per-operation EDA rates (default: --rate each)."
)
@click.option(
    "--threshold",
    type=float,
    metavar="P",
    help="Keep a row when the classifier gives its label >= P (default: label stays top class).",
)
@click.option("--no-filter", is_flag=True, help="Skip the label, negation and similarity tests.")
@click.option(
    "--max-per-source", default=8, show_default=True, help="New rows per source row, at most."
)
@click.option("--only-new", is_flag=True, help="Write only the new rows to OUT.")
@click.option("--json", "json_out", metavar="OUT", help="Summary JSON (default: OUT.augment.json).")
@output_format_option
@click.option(
    "--seed", default=0, show_default=True, help="Random seed (same input + seed = same output)."
)
@quiet_option
@force_option
def augment_command(path, out, **opts):
    """Add filtered paraphrases of training rows to the classes that need them.

    Writes OUT (the input rows plus the new ones; dataqa_source_id, dataqa_method,
    dataqa_params and dataqa_seed say where each new row came from) and a JSON summary of
    what was generated, kept and rejected (by reason) per method and class. New rows
    must keep their source's label under a quick classifier, keep its negations, and be
    neither a copy nor a different sentence. Test splits are never augmented.

    \b
    Examples:
      dataqa augment train.csv -o aug.csv --per-class 50
      dataqa augment train.csv -o aug.csv --method synonym,eda,backtranslate --target balance
      dataqa augment train.csv -o aug.csv --plan reports/train.json --threshold 0.5
      dataqa augment train.csv -o aug.csv --method backtranslate --factor 2 \\
        --engine marian --model opus-mt-en-de --back-model opus-mt-de-en
      dataqa augment train.csv -o aug --output-format hf --per-class 50   # a DatasetDict
    """
    from dataqa.augmentation.command import run_augment
    from dataqa.io import output_format, refuse_overwriting_inputs

    setup_logging(opts["quiet"])
    output_format(out)  # a file type dataqa cannot write fails before the run
    refuse_overwriting_inputs(
        [path, opts.get("plan_path")], [out, opts.get("json_out")], force=opts.pop("force")
    )
    run_augment(path, out, opts, load_input)
