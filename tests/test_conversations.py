"""Conversation data: every format reads and writes back as it came, and every fault kind
the conversations check knows is found on planted records (recall) and nowhere else
(precision)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from dataqa.checks import Context
from dataqa.checks.conversations import ConversationCheck
from dataqa.cli import cli
from dataqa.dataset import load
from dataqa.errors import DataQAError
from dataqa.stages.clean import clean

QUESTIONS = [
    "How do I activate my new card",
    "Why was my transfer declined yesterday",
    "Can I change my PIN in the app",
    "What is the fee for a foreign payment",
    "How long does a top-up take to arrive",
    "Where can I see my statement for last month",
]


def chat(i: int) -> dict:
    q = f"{QUESTIONS[i % len(QUESTIONS)]} (case {i})?"
    return {
        "messages": [
            {"role": "system", "content": "You are a helpful banking assistant."},
            {"role": "user", "content": q},
            {
                "role": "assistant",
                "content": f"Here is how to handle case {i}: open the app, "
                f"choose the card section and follow the steps shown for request {i}.",
            },
        ]
    }


PLANTED = {  # row -> (record, the kind that must find it)
    200: ({"messages": "not a list"}, "conversations.format"),
    201: ({"messages": [{"role": "user", "content": "hi"}, "oops"]}, "conversations.format"),
    202: (
        {"messages": [{"role": "user", "content": "a question here"}]},
        "conversations.no_assistant",
    ),
    203: (
        {
            "messages": [
                {"role": "user", "content": "Tell me a joke about banks"},
                {"role": "assistant", "content": "As an AI language model, I cannot tell jokes."},
            ]
        },
        "conversations.refusal",
    ),
    204: (
        {
            "messages": [
                {"role": "user", "content": "Please repeat this sentence back"},
                {"role": "assistant", "content": "Please repeat this sentence back"},
            ]
        },
        "conversations.echo",
    ),
    205: (
        {
            "messages": [
                {"role": "user", "content": "long " * 3000},
                {"role": "assistant", "content": "ok"},
            ]
        },
        "conversations.no_trainable_tokens",
    ),
    206: (
        {
            "messages": [
                {"role": "usr", "content": "hello there my friend"},
                {"role": "assistant", "content": "hello to you"},
            ]
        },
        "conversations.unknown_role",
    ),
    207: (
        {
            "messages": [
                {"role": "user", "content": "What is 2+2"},
                {"role": "assistant", "content": ""},
            ]
        },
        "conversations.empty_turn",
    ),
    208: (
        {
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "and then?"},
            ]
        },
        "conversations.ends_on_user",
    ),
    209: (
        {
            "messages": [
                {"role": "user", "content": "first question"},
                {"role": "user", "content": "second question"},
                {"role": "assistant", "content": "an answer"},
            ]
        },
        "conversations.consecutive_roles",
    ),
    210: (
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "system", "content": "late system prompt"},
                {"role": "assistant", "content": "an answer"},
            ]
        },
        "conversations.system_placement",
    ),
    211: (
        {
            "messages": [
                {"role": "user", "content": "Write a long answer"},
                {"role": "assistant", "content": "word " * 3000},
            ]
        },
        "conversations.truncated_answer",
    ),
}


@pytest.fixture(scope="module")
def planted_chat(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chat")
    rows = [chat(i) for i in range(200)] + [rec for rec, _ in PLANTED.values()]
    path = folder / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, rows


def findings_by_kind(ds, **options):
    result = ConversationCheck(**options).run(ds, Context(seed=0))
    out: dict[str, set] = {}
    for f in result.findings:
        out.setdefault(f.check, set()).update(f.row_ids)
    return out, result


def test_every_planted_fault_is_found_and_clean_rows_are_not(planted_chat):
    path, _ = planted_chat
    ds = load(path)
    assert ds.roles.schema == "chat"
    found, _ = findings_by_kind(ds, max_seq_len=1024)
    for row, (_, kind) in PLANTED.items():
        assert row in found.get(kind, set()), (row, kind, found)
    flagged = set().union(
        *(rows for k, rows in found.items() if k != "conversations.prompt_conflict")
    )
    assert flagged <= set(PLANTED), sorted(flagged - set(PLANTED))[:10]  # precision


def test_clean_quarantines_broken_records_and_keeps_the_rest_identical(planted_chat, tmp_path):
    path, rows = planted_chat
    res = CliRunner().invoke(cli, ["clean", str(path), "-o", str(tmp_path / "out.jsonl"), "-q"])
    assert res.exit_code == 0, res.output
    kept = {}
    for line in (tmp_path / "out.jsonl").read_text().splitlines():
        rec = json.loads(line)
        kept[rec.pop("dataqa_row_id")] = rec
    assert set(range(200)) <= set(kept)  # the good records are all kept ...
    assert all(kept[i] == rows[i] for i in kept)  # ... and byte-for-byte the same values
    held = [
        json.loads(x)["dataqa_row_id"]
        for x in (tmp_path / "out.quarantine.jsonl").read_text().splitlines()
    ]
    assert {200, 201, 202, 203, 204, 205, 206, 207} <= set(held)


@pytest.mark.parametrize(
    "record, schema",
    [
        (
            {
                "conversations": [
                    {"from": "human", "value": "hi there"},
                    {"from": "gpt", "value": "hello"},
                ]
            },
            "sharegpt",
        ),
        ({"instruction": "Say hi", "input": "", "output": "hi"}, "alpaca"),
        ({"prompt": "Say hi", "completion": "hi"}, "completion"),
        ({"prompt": "Say hi", "chosen": "hi there", "rejected": "no"}, "preference"),
        (
            {
                "prompt": [{"role": "user", "content": "Say hi"}],
                "chosen": [{"role": "assistant", "content": "hi there"}],
                "rejected": [{"role": "assistant", "content": "no"}],
            },
            "preference",
        ),
    ],
)
def test_each_format_is_detected_and_round_trips(tmp_path, record, schema):
    rows = [json.loads(json.dumps(record).replace("hi", f"hi {i}")) for i in range(12)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load(tmp_path / "in.jsonl")
    assert ds.roles.schema == schema
    result = clean(ds)
    from dataqa.io import write_table

    write_table(result.kept.frame, tmp_path / "out.jsonl", source=result.kept.io)
    back = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k != "dataqa_row_id"} for r in back] == [
        rows[r["dataqa_row_id"]] for r in back
    ]


def test_parquet_list_column_and_column_json_read(tmp_path):
    msgs = [
        [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": f"a {i}"}]
        for i in range(10)
    ]
    pd.DataFrame({"messages": msgs}).to_parquet(tmp_path / "c.parquet")
    assert load(tmp_path / "c.parquet").roles.schema == "chat"
    (tmp_path / "c.json").write_text(json.dumps({"messages": msgs}))
    assert len(load(tmp_path / "c.json")) == 10


def test_preference_pairs(tmp_path):
    rows = [
        {
            "prompt": f"Question number {i}?",
            "chosen": f"A careful, complete and well argued answer to question {i}.",
            "rejected": f"No idea {i}.",
        }
        for i in range(60)
    ]
    rows[0]["rejected"] = rows[0]["chosen"]
    rows[1]["rejected"] = ""
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    found, result = findings_by_kind(load(tmp_path / "p.jsonl"))
    assert found["conversations.pair_identical"] == {0}
    assert found["conversations.pair_empty"] == {1}
    assert "conversations.length_bias" in {f.check for f in result.findings}
    balanced = [dict(r, rejected=r["chosen"][::-1]) for r in rows[2:]]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in balanced))
    _, result = findings_by_kind(load(tmp_path / "b.jsonl"))
    assert "conversations.length_bias" not in {f.check for f in result.findings}


def test_contamination_names_the_records_and_the_span(tmp_path, planted_chat):
    path, rows = planted_chat
    leaked = (
        "The committee met on a rainy Tuesday in March to decide which of the three "
        "bridges across the river would be repaired first and at what cost."
    )
    rows = [
        *rows[:200],
        {
            "messages": [
                {"role": "user", "content": "Summarise the minutes"},
                {"role": "assistant", "content": "Sure. " + leaked},
            ]
        },
    ]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "bench.jsonl").write_text(json.dumps({"text": leaked}) + "\n")
    found, result = findings_by_kind(
        load(tmp_path / "c.jsonl"), benchmark=str(tmp_path / "bench.jsonl")
    )
    assert found["conversations.contamination"] == {200}
    f = next(f for f in result.findings if f.check == "conversations.contamination")
    assert "rainy tuesday in march" in f.evidence["values"]["200"]


def tiny_tokenizer(folder):
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from tokenizers import models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        [q for q in QUESTIONS] + ["here is how to handle case open the app"],
        trainers.WordLevelTrainer(special_tokens=["[UNK]", "<s>", "</s>"]),
    )
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }} {{ m['content'] }}</s>{% endfor %}"
    )
    fast.save_pretrained(str(folder))
    return folder


def test_a_real_tokenizer_and_its_chat_template_count_tokens(tmp_path, planted_chat):
    path, _ = planted_chat
    folder = tiny_tokenizer(tmp_path / "tok")
    found, result = findings_by_kind(load(path), tokenizer=str(folder), max_seq_len=1024)
    assert result.stats["tokens"]["counted_with"] == str(folder)
    assert 205 in found["conversations.no_trainable_tokens"]


@pytest.mark.parametrize(
    "lines, match",
    [
        (['["not", "an", "object"]'], "not an object"),
        (
            [
                '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}',
                '{"prompt": "x", "completion": "y"}',
            ],
            None,
        ),
    ],
)
def test_bad_records_are_clear(tmp_path, lines, match):
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    if match:
        with pytest.raises(DataQAError, match=match):
            load(tmp_path / "bad.jsonl")
    else:  # mixed formats: the messages column rules, the other record is a format error
        found, _ = findings_by_kind(load(tmp_path / "bad.jsonl"))
        assert found["conversations.format"] == {1}


def test_a_missing_tokenizer_is_exit_2(planted_chat):
    path, _ = planted_chat
    res = CliRunner().invoke(cli, ["audit", str(path), "--tokenizer", "./no/such/tok", "-q"])
    assert res.exit_code == 2 and "no tokenizer" in res.output


@pytest.mark.slow  # the default checks (labels, relevance) load their models
def test_conversation_checks_are_not_applicable_to_text_rows_not_a_gap(tmp_path):
    from dataqa.stages.audit import audit

    frame = pd.DataFrame({"text": ["good", "bad", "fine"] * 5, "label": ["a", "b", "a"] * 5})
    meta = audit(frame, checks=None, progress=False).meta
    assert "conversations" in meta["not_applicable"] and "conversations" not in meta["skipped"]
    meta = audit(frame, checks=["conversations"], progress=False).meta  # asked for: say why
    assert "--schema" in meta["skipped"]["conversations"]
    # and the other way round: class-label checks have nothing to judge in conversations
    chat = pd.DataFrame(
        {
            "messages": [
                [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": "a"}]
                for i in range(12)
            ]
        }
    )
    meta = audit(chat, checks=None, progress=False).meta
    assert {"labels", "balance", "size", "bias"} <= set(meta["not_applicable"])
    assert not {"labels", "balance", "size", "bias"} & set(meta["skipped"])


def test_unknown_keys_set_to_null_warn_and_are_kept_other_unknown_keys_quarantine(tmp_path):
    def rec(i, extra):
        return {
            "messages": [
                {"role": "user", "content": f"question number {i} about the weather", **extra},
                {"role": "assistant", "content": f"answer {i}: it rains in spring", **extra},
            ]
        }

    recs = [rec(i, {}) for i in range(6)]
    recs[1] = rec(1, {"foo": None})  # a table export's absent key
    recs[4] = rec(4, {"foo": "bar"})  # a real unknown key
    path = tmp_path / "keys.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    ds = load(path)
    found, _ = findings_by_kind(ds)
    assert found["conversations.null_keys"] == {1}
    assert found["conversations.format"] == {4}
    result = clean(ds)
    assert set(result.quarantine.index) == {4} and 1 in result.kept.frame.index


def test_cli_against_a_conversation_test_split_finds_copied_records(tmp_path):
    import random

    words = [
        "card",
        "rate",
        "fee",
        "top",
        "up",
        "pin",
        "cash",
        "lost",
        "bank",
        "app",
        "euro",
        "limit",
        "refund",
        "phone",
        "spare",
    ]
    rng = random.Random(3)

    def rec(i):
        ask = " ".join(rng.sample(words, 6))
        return {
            "messages": [
                {"role": "user", "content": f"{ask} {i}?"},
                {"role": "assistant", "content": f"Intent {i % 3}: {rng.choice(words)}."},
            ]
        }

    test = [rec(i) for i in range(20)]
    train = [rec(i) for i in range(20, 60)] + test[:3]  # three test records copied
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    res = CliRunner().invoke(
        cli,
        [
            "clean",
            str(tmp_path / "train.jsonl"),
            "-o",
            str(tmp_path / "c.jsonl"),
            "--against",
            str(tmp_path / "test.jsonl"),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    quarantined = [
        json.loads(x) for x in (tmp_path / "c.quarantine.jsonl").read_text().splitlines()
    ]
    assert sorted(q["dataqa_row_id"] for q in quarantined) == [40, 41, 42]
