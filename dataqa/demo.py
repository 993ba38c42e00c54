"""The embedded demo: a generated product-review set with planted problems of known ground truth.

The text is generated from word banks written for dataqa (no third-party data, so no
licence question). Each planted problem records its row ids in `ground_truth.json`, and
the demo prints how many of them the audit found, so the demo doubles as a smoke test
of every check.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd

BRANDS = ["Acme", "Borealis", "Cobalt", "Dunmore", "Everly"]
TYPO_BRAND = "Dunmore"
PRODUCTS = [
    "blender",
    "kettle",
    "pair of headphones",
    "vacuum cleaner",
    "toaster",
    "desk lamp",
    "backpack",
    "phone case",
    "coffee grinder",
    "monitor stand",
    "electric toothbrush",
    "air fryer",
    "rice cooker",
    "hair dryer",
    "travel mug",
    "bluetooth speaker",
]
CONTEXT = [
    "I bought it for my small kitchen",
    "My sister recommended it to me",
    "I have used it every day for a month",
    "It was a birthday present from my parents",
    "I compared it with two other models",
    "We ordered it during the winter sale",
    "I needed a replacement for my old one",
    "It arrived on a rainy Tuesday",
    "My flatmate and I share it",
    "I picked it up at the local store",
    "After reading many reviews I finally ordered it",
    "I use it mostly on weekends",
]
PHRASES = {
    "positive": [
        "works perfectly and feels solid",
        "exceeded all of my expectations",
        "is worth every penny",
        "is sturdy, quiet and well made",
        "arrived quickly and works great",
        "is my favourite purchase this year",
        "does exactly what it promises",
        "is easy to clean and lovely to use",
        "has a brilliant design",
        "still works like new after months",
        "makes my mornings so much better",
        "is reliable and fast",
    ],
    "negative": [
        "stopped working after a week",
        "is a complete waste of money",
        "feels cheap and flimsy",
        "broke the first time I used it",
        "arrived damaged and scratched",
        "is noisy, slow and annoying",
        "overheats and smells of burnt plastic",
        "fell apart within days",
        "is impossible to clean",
        "has a battery that dies constantly",
        "leaks all over the counter",
        "is badly designed and awkward",
    ],
    "neutral": [
        "is okay for the price",
        "does the job, nothing special",
        "is average in every way",
        "works as described, no more and no less",
        "is fine but unremarkable",
        "is neither good nor bad",
    ],
}
ENDINGS = {
    "positive": [
        "Highly recommended.",
        "Five stars.",
        "Would buy again.",
        "Love it.",
        "Great value.",
    ],
    "negative": [
        "Do not buy it.",
        "Returning it tomorrow.",
        "One star.",
        "Very disappointed.",
        "Avoid.",
    ],
    "neutral": [
        "Three stars.",
        "It is fine.",
        "Nothing more to say.",
        "Make of that what you will.",
        "Meh.",
    ],
}
FOREIGN = [
    "El producto llegó roto y el servicio de atención al cliente nunca respondió a mis correos.",
    "Le produit est arrivé cassé et le service client ne répond jamais aux messages.",
    "Das Gerät ist nach zwei Tagen kaputt gegangen und der Kundendienst antwortet nicht.",
    "Il prodotto è arrivato rotto e il servizio clienti non ha mai risposto alle email.",
    "O produto chegou quebrado e o atendimento ao cliente nunca respondeu aos meus emails.",
]
PROBLEMS = {
    # planted problem -> the check prefixes that should find it
    "exact_duplicates": ["duplicates.exact"],
    "near_duplicate_conflicts": ["duplicates.conflict"],
    "mojibake": ["hygiene.mojibake"],
    "pii": ["hygiene.pii"],
    "markup": ["hygiene.markup"],
    "control_chars": ["hygiene.control_chars"],
    "empty_text": ["hygiene.empty", "hygiene.missing_text"],
    "missing_label": ["hygiene.missing_label"],
    "foreign_language": ["hygiene.language"],
    "leaked_into_test": ["duplicates.leakage"],
    "label_flips": ["label"],
    "brand_typos": ["bias", "hygiene.typos"],
}


def _typos(text: str, rng: random.Random, rate: float) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            j = rng.randrange(1, len(w) - 1)
            op = rng.choice(["swap", "drop", "double"])
            if op == "swap":
                w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
            elif op == "drop":
                w = w[:j] + w[j + 1 :]
            else:
                w = w[:j] + w[j] + w[j:]
            words[i] = w
    return " ".join(words)


def _review(rng: random.Random, label: str, brand: str) -> str:
    return (
        f"{rng.choice(CONTEXT)}. The {brand} {rng.choice(PRODUCTS)} {rng.choice(PHRASES[label])}. "
        f"{rng.choice(ENDINGS[label])}"
    )


def make_demo(rows: int = 2000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return (train, test, ground truth); ground truth maps a problem to train row ids."""
    rng = random.Random(seed)
    base = int(rows * 0.9)
    records = []
    for _ in range(base):
        brand = rng.choice(BRANDS)
        if brand == TYPO_BRAND:
            label = rng.choices(["positive", "negative", "neutral"], [0.25, 0.72, 0.03])[0]
        else:
            label = rng.choices(["positive", "negative", "neutral"], [0.55, 0.40, 0.05])[0]
        text = _review(rng, label, brand)
        tags = []
        if brand == TYPO_BRAND:
            text = _typos(text, rng, 0.3)
            tags.append("brand_typos")
        records.append({"text": text, "label": label, "brand": brand, "tags": tags})
    test = [
        {"text": _review(rng, lab, rng.choice(BRANDS)), "label": lab, "brand": None}
        for lab in rng.choices(
            ["positive", "negative", "neutral"], [0.5, 0.4, 0.1], k=max(rows // 5, 50)
        )
    ]

    def pick(n: int, cond=lambda r: not r["tags"]) -> list[dict]:
        pool = [r for r in records if cond(r)]
        return rng.sample(pool, min(n, len(pool)))

    extra = []
    for r in pick(25):
        variant = rng.choice(
            [r["text"].upper(), r["text"].replace(".", "!"), "  " + r["text"] + " "]
        )
        extra.append({**r, "text": variant, "tags": ["exact_duplicates"]})
        r["tags"] = r["tags"] + ["exact_duplicates_source"]
    for r in pick(15):
        other = rng.choice([lab for lab in PHRASES if lab != r["label"]])
        extra.append(
            {
                **r,
                "text": r["text"].replace("The ", "This ", 1),
                "label": other,
                "tags": ["near_duplicate_conflicts"],
            }
        )
        r["tags"] = r["tags"] + ["near_duplicate_conflicts"]
    for r in pick(15):
        text = r["text"].replace("I ", "I’ve said it before: I ", 1) + " — honestly."
        r["text"] = text.encode("utf-8").decode("cp1252", errors="replace")
        r["tags"] = r["tags"] + ["mojibake"]
    for i, r in enumerate(pick(15)):
        pii = [
            f"Email me at jamie.{i}@example.com if you want photos.",
            f"Call me on +44 20 7946 {i:04d}.",
            "My card 4111 1111 1111 1111 was charged twice.",
        ][i % 3]
        r["text"] += " " + pii
        r["tags"] = r["tags"] + ["pii"]
    for r in pick(15):
        r["text"] = f"<p>{r['text'].replace('. ', '.<br/>', 1)} &amp; more</p>"
        r["tags"] = r["tags"] + ["markup"]
    for r in pick(8):
        r["text"] = r["text"].replace(" ", "\u200b ", 2).replace("The", "The\u202e", 1)
        r["tags"] = r["tags"] + ["control_chars"]
    for text in FOREIGN:
        extra.append(
            {
                "text": text,
                "label": "negative",
                "brand": rng.choice(BRANDS),
                "tags": ["foreign_language"],
            }
        )
    for blank in ["", "   ", None]:
        extra.append(
            {"text": blank, "label": "neutral", "brand": rng.choice(BRANDS), "tags": ["empty_text"]}
        )
    for r in pick(3):
        r["label"] = None
        r["tags"] = r["tags"] + ["missing_label"]
    for r in pick(10):
        test.append({"text": r["text"], "label": r["label"], "brand": r["brand"]})
        r["tags"] = r["tags"] + ["leaked_into_test"]
    flips = pick(int(base * 0.05), lambda r: not r["tags"] or r["tags"] == ["brand_typos"])
    for r in flips:
        r["label"] = rng.choice([lab for lab in PHRASES if lab != r["label"]])
        r["tags"] = r["tags"] + ["label_flips"]
    records += extra
    rng.shuffle(records)

    train = pd.DataFrame([{k: r[k] for k in ("text", "label", "brand")} for r in records])
    truth: dict[str, list[int]] = {p: [] for p in PROBLEMS}
    for i, r in enumerate(records):
        for t in r["tags"]:
            if t in truth:
                truth[t].append(i)
    truth["thin_class"] = ["neutral"]
    truth["typo_brand"] = [TYPO_BRAND]
    return train, pd.DataFrame(test), truth


def detection_table(report, truth: dict) -> list[dict]:
    """For each planted problem: planted rows, rows found by the matching checks, recall."""
    rows = []
    for problem, prefixes in PROBLEMS.items():
        planted = set(truth.get(problem, []))
        if not planted:
            continue
        hits = [
            f
            for f in report.findings
            if any(
                f.check == p or f.check.startswith(p + ".") or f.check.startswith(p)
                for p in prefixes
            )
        ]
        found = planted & {r for f in hits for r in f.row_ids}
        ran = any(
            f.check.startswith(tuple(p.split(".")[0] for p in prefixes)) for f in report.findings
        ) or any(p.split(".")[0] in report.meta.get("checks", []) for p in prefixes)
        rows.append(
            {
                "problem": problem,
                "planted": len(planted),
                "found": len(found),
                "recall": round(len(found) / len(planted), 3),
                "checked": ran,
            }
        )
    return rows


def run_demo(out_dir: Path, rows: int = 2000, seed: int = 7, finetune: bool = True) -> dict:
    import click

    from dataqa.dataset import atomic_write_text, write_table
    from dataqa.stages.audit import audit
    from dataqa.stages.clean import clean

    out_dir.mkdir(parents=True, exist_ok=True)
    train, test, truth = make_demo(rows, seed)
    train_path, test_path = out_dir / "demo_train.csv", out_dir / "demo_test.csv"
    write_table(train, train_path, index=False)
    write_table(test, test_path, index=False)
    atomic_write_text(out_dir / "ground_truth.json", json.dumps(truth, indent=1))

    from dataqa.dataset import load

    ds = load(train_path, group_col="brand")
    test_ds = load(test_path, text_col="text", label_col="label", group_col="brand")
    report = audit(ds, against=test_ds, seed=seed, progress=True)
    report.meta["demo"] = {"ground_truth": truth, "detection": detection_table(report, truth)}
    report.save(out_dir / "audit.json")
    click.echo(f"audit report: {out_dir / 'audit.json'}")
    try:
        from dataqa.report.html import write_html
    except ImportError:
        write_html = None
    if write_html is not None:
        write_html(report, out_dir / "audit.html")
        click.echo(f"HTML report:  {out_dir / 'audit.html'}")

    result = clean(ds, against=test_ds, seed=seed)
    write_table(result.kept.frame, out_dir / "clean.csv")
    write_table(result.quarantine, out_dir / "clean.quarantine.csv")
    write_table(result.changes, out_dir / "clean.changes.csv", index=False)
    s = result.summary
    click.echo(
        f"clean: {s['rows_in']} rows in -> {s['rows_kept']} kept, {s['rows_quarantined']} quarantined, "
        f"{s['rows_changed']} edited ({out_dir / 'clean.csv'})"
    )

    click.echo("\nplanted problem            planted  found  recall")
    for row in report.meta["demo"]["detection"]:
        note = "" if row["checked"] else "   (check not installed or not run)"
        click.echo(
            f"{row['problem']:<26} {row['planted']:>7} {row['found']:>6}  {row['recall']:>6.0%}{note}"
        )
    out = {"report": report, "clean": result, "truth": truth}
    if finetune:  # the whole loop: `dataqa run` on the demo data, tiny model, CPU
        from dataqa.pipeline import demo_loop

        out["loop"] = demo_loop(out_dir, train_path, test_path, seed=seed)
    return out
