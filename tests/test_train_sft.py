"""Fine-tuning a causal LM on conversations: masking, statistics, leakage, bad input, and a
planted-fault experiment where the curated set must win.

The masking tests build word-level tokenizers by hand, so every expected label position
is known; the experiments use the synthetic conversations of `sft_data` and the tiny
GPT-2 that `--model tiny` builds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dataqa.errors import DataQAError
from dataqa.train.compare import mean_difference
from dataqa.train.verdict import verdict

transformers = pytest.importorskip("transformers")

from sft_data import REFUSALS, conversations, write_jsonl  # noqa: E402

from dataqa.train.masking import (  # noqa: E402
    IGNORE_INDEX,
    encode_conversation,
    encode_records,
    trainable_tokens,
)

CHAT = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi there"},
    {"role": "assistant", "content": "hello friend"},
    {"role": "user", "content": "bye"},
    {"role": "assistant", "content": "see you"},
]
MARKERS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _word_tokenizer(template: str | None = None):
    """One token per word or punctuation run; <s> begins, </s> ends, <pad> pads."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["be", "brief", "hi", "there", "hello", "friend", "bye", "see", "you"]
    words += ["system", "user", "assistant", "tool", ":"]
    vocab = {w: i for i, w in enumerate(["<pad>", "<s>", "</s>", "<unk>", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    if template:
        fast.add_special_tokens({"additional_special_tokens": MARKERS})
        fast.chat_template = template
    return fast


def _learned(row: dict, tok) -> list[str]:
    return [tok.convert_ids_to_tokens(y) for y in row["labels"] if y != IGNORE_INDEX]


def test_plain_rendering_learns_only_assistant_tokens_at_known_positions():
    tok = _word_tokenizer()
    row = encode_conversation(CHAT, tok, max_length=64)
    tokens = tok.convert_ids_to_tokens(row["input_ids"])
    # <s> | system : be brief | user : hi there | assistant : hello friend </s> |
    # user : bye | assistant : see you </s>
    first = ["<s>", "system", ":", "be", "brief", "user", ":", "hi", "there"]
    first += ["assistant", ":", "hello", "friend", "</s>"]
    assert tokens == first + ["user", ":", "bye", "assistant", ":", "see", "you", "</s>"]
    learned = [i for i, y in enumerate(row["labels"]) if y != IGNORE_INDEX]
    assert learned == [11, 12, 13, 19, 20, 21]
    assert all(row["labels"][i] == row["input_ids"][i] for i in learned)
    assert _learned(row, tok) == ["hello", "friend", "</s>", "see", "you", "</s>"]
    assert row["attention_mask"] == [1] * len(row["input_ids"])
    assert trainable_tokens(row) == 6


def test_chat_template_masks_system_user_and_the_assistant_header():
    tok = _word_tokenizer(TEMPLATE)
    row = encode_conversation(CHAT, tok, max_length=64)
    tokens = tok.convert_ids_to_tokens(row["input_ids"])
    assert tokens[:3] == ["<|system|>", "be", "brief"]
    # the answer and its end marker are learned; the <|assistant|> header is not
    assert _learned(row, tok) == ["hello", "friend", "<|end|>", "see", "you", "<|end|>"]
    header = [i for i, t in enumerate(tokens) if t == "<|assistant|>"]
    assert len(header) == 2 and all(row["labels"][i] == IGNORE_INDEX for i in header)
    assert all(row["labels"][i + 1] != IGNORE_INDEX for i in header)


def test_zero_weight_turns_truncation_and_records_without_answers():
    tok = _word_tokenizer()
    weighted = [dict(t) for t in CHAT]
    weighted[2]["weight"] = 0
    row = encode_conversation(weighted, tok, max_length=64)
    assert _learned(row, tok) == ["see", "you", "</s>"]
    cut = encode_conversation(CHAT, tok, max_length=13)  # ends inside the first answer
    assert len(cut["input_ids"]) == 13 and _learned(cut, tok) == ["hello", "friend"]
    records = pd.Series(
        [CHAT, CHAT[:2], "not a conversation", CHAT], index=["a", "b", "c", "d"], dtype=object
    )
    enc = encode_records(records, "chat", tok, 64, name="raw", path="raw.jsonl")
    assert enc.ids == ["a", "d"]
    assert set(enc.dropped) == {"b", "c"} and "no trainable token" in enc.dropped["b"]
    short = encode_records(records, "chat", tok, 9, name="raw", path="raw.jsonl")
    assert short.ids == []  # cut before any answer: nothing left to learn


def test_preference_pairs_train_on_the_chosen_answer():
    from dataqa.dataset import from_frame

    tok = _word_tokenizer()
    ds = from_frame(
        pd.DataFrame({"prompt": ["hi there"], "chosen": ["see you"], "rejected": ["bye"]})
    )
    enc = encode_records(ds.records, ds.roles.schema, tok, 64, name="raw", path="p.jsonl")
    assert _learned(enc.rows[0], tok) == ["see", "you", "</s>"]


# ---- statistics and the verdict ----------------------------------------------------------


def test_mean_difference_of_a_loss_says_lower_is_better():
    rng = np.random.default_rng(0)
    base = rng.normal(3.0, 0.5, size=200)
    raw = [base + rng.normal(0, 0.05, 200) for _ in range(3)]
    curated = [base - 0.3 + rng.normal(0, 0.05, 200) for _ in range(3)]
    out = mean_difference(raw, curated, n_boot=1000)
    assert out["outcome"] == "better" and out["ci_high"] < 0 < -out["ci_low"]
    assert out["diff"] == pytest.approx(-0.3, abs=0.02)
    assert len(out["runs_a"]) == 3 and out["n"] == 200
    same = mean_difference(raw, [v + rng.normal(0, 0.05, 200) for v in raw], n_boot=1000)
    assert same["outcome"] == "no measurable difference" and same["ci_low"] < 0 < same["ci_high"]
    assert mean_difference(curated, raw, n_boot=1000)["outcome"] == "worse"
    with pytest.raises(ValueError):
        mean_difference([[1.0, 2.0]], [[1.0]])


def test_loss_verdict_reads_in_words_with_per_run_numbers():
    m = mean_difference([[2.0, 2.2, 2.1]] * 2, [[1.5, 1.6, 1.7]] * 2, n_boot=200)
    comp = {
        "a": "raw",
        "b": "curated",
        "runs_a": 2,
        "runs_b": 2,
        "n": 3,
        "items": "held-out conversations",
        "outcome": m["outcome"],
        "metrics": {"loss": m},
        "perplexity": {"a": 8.2, "b": 4.9},
    }
    budget = {
        "mode": "steps",
        "steps": {"raw": 10, "curated": 10},
        "epochs": {"raw": 1.0, "curated": 2.0},
        "train_rows": {"raw": 320, "curated": 160},
        "batch_size": 32,
        "warmup_steps": 1,
        "schedule": "linear",
        "unit": "conversations",
    }
    v = verdict(comp, budget=budget, names=["raw", "curated"], seeds=[0, 1])
    assert v["outcome"] == "better" and v["answer"] == "Yes"
    assert "lower loss" in v["headline"] and "perplexity 4.90 vs 8.20" in v["headline"]
    assert "Held-out loss per run: raw 2.1000, 2.1000; curated 1.6000, 1.6000." in v["lines"]
    assert any("320 training conversations" in line for line in v["lines"])
    assert v["loss"]["ci_high"] < 0


# ---- refused before training -------------------------------------------------------------


def _frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records)


def _leak_case(kind: str):
    records = conversations(80, seed=3)
    train, test = records[:60], records[60:]
    copy = json.loads(json.dumps(test[0]))
    if kind == "near":  # the same question, its answer one word different
        answer = copy["messages"][2]["content"]
        copy["messages"][2]["content"] = answer.replace("Then", "After that")
    return train + [copy], test


@pytest.mark.parametrize("kind", ["exact", "near"])
def test_a_held_out_conversation_in_training_is_refused(kind, tmp_path):
    import dataqa

    train, test = _leak_case(kind)
    with pytest.raises(DataQAError, match="1 conversation of the training set 'raw' also appears"):
        dataqa.finetune([_frame(train), _frame(train[:40])], _frame(test), model="tiny")


def test_shared_answer_template_is_not_leakage():
    from dataqa.dataset import from_frame
    from dataqa.train.testset import drop_or_refuse_leaks

    records = conversations(300, seed=4)
    train, test = from_frame(_frame(records[:250])), from_frame(_frame(records[250:]))
    _, leaked = drop_or_refuse_leaks([train], ["raw"], test, near_threshold=0.78)
    assert leaked == {"raw": []}
    train2, leaked = drop_or_refuse_leaks(
        [from_frame(_frame(_leak_case("near")[0]))],
        ["raw"],
        from_frame(_frame(_leak_case("near")[1])),
        near_threshold=0.78,
        drop_leaked=True,
    )
    assert leaked == {"raw": [60]} and len(train2[0]) == 60


def _run_cli(args: list[str]):
    from dataqa.cli import cli

    return CliRunner().invoke(cli, args)


def _one_paragraph(result) -> str:
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text and "\n\n" not in text
    return text


@pytest.mark.slow
def test_conversations_without_assistant_turns_exit_2(tmp_path):
    records = conversations(40, seed=5)
    no_answers = [{"messages": [r["messages"][0], r["messages"][1]]} for r in records]
    raw = write_jsonl(no_answers[:30], tmp_path / "raw.jsonl")
    test = write_jsonl(records[30:], tmp_path / "test.jsonl")
    out = _one_paragraph(
        _run_cli(
            ["finetune", "--train", str(raw), "--train", str(raw), "--test", str(test)]
            + ["--model", "tiny", "--out-dir", str(tmp_path / "ft"), "-q"]
        )
    )
    assert "no conversation with a trainable assistant token" in out and "raw.jsonl" in out
    test_bad = write_jsonl(no_answers[30:], tmp_path / "test_bad.jsonl")
    good = write_jsonl(records[:30], tmp_path / "good.jsonl")
    out = _one_paragraph(
        _run_cli(
            ["finetune", "--train", str(good), "--test", str(test_bad), "--model", "tiny"]
            + ["--out-dir", str(tmp_path / "ft2"), "-q"]
        )
    )
    assert "the test set has no conversation with an assistant token" in out


def test_a_checkpoint_without_a_tokenizer_exits_2(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path / "lm"
    GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2)).save_pretrained(
        folder
    )
    records = conversations(40, seed=6)
    raw = write_jsonl(records[:30], tmp_path / "raw.jsonl")
    test = write_jsonl(records[30:], tmp_path / "test.jsonl")
    out = _one_paragraph(
        _run_cli(
            ["finetune", "--train", str(raw), "--test", str(test), "--model", str(folder)]
            + ["--out-dir", str(tmp_path / "ft"), "-q"]
        )
    )
    assert "tokenizer" in out and str(folder) in out


def test_classification_test_set_for_conversation_training_exits_2(tmp_path):
    records = conversations(40, seed=7)
    raw = write_jsonl(records, tmp_path / "raw.jsonl")
    test = tmp_path / "test.csv"
    pd.DataFrame({"text": ["a b c", "d e f"], "label": ["x", "y"]}).to_csv(test, index=False)
    out = _one_paragraph(
        _run_cli(
            ["finetune", "--train", str(raw), "--test", str(test), "--model", "tiny"]
            + ["--out-dir", str(tmp_path / "ft"), "-q"]
        )
    )
    assert "needs the column 'messages'" in out and "test.csv" in out


# ---- the experiment: a planted fault that clean removes ---------------------------------


def _planted(tmp_path: Path, n_train: int = 240, n_test: int = 60, share: float = 0.5):
    """raw: `share` of the answers replaced by refusals; curated: `dataqa.clean` of raw."""
    import dataqa

    records = conversations(n_train + n_test, seed=11)
    train, test = records[:n_train], records[n_train:]
    rng = random.Random(12)
    for r in rng.sample(train, int(share * n_train)):
        r["messages"][2]["content"] = rng.choice(REFUSALS)
    raw = write_jsonl(train, tmp_path / "raw.jsonl")
    result = dataqa.clean(dataqa.load(raw))
    curated = tmp_path / "curated.jsonl"
    dataqa.write_table(result.kept.frame, curated)
    return raw, curated, write_jsonl(test, tmp_path / "test.jsonl"), result


@pytest.mark.slow
def test_curated_beats_raw_when_half_the_answers_are_refusals(tmp_path):
    raw, curated, test, result = _planted(tmp_path)
    assert len(result.kept) == 120  # every refusal quarantined, nothing else
    out = tmp_path / "ft.json"
    res = _run_cli(
        ["finetune", "--train", str(raw), "--train", str(curated), "--test", str(test)]
        + ["--model", "tiny", "--seeds", "2", "--max-length", "48", "--batch-size", "16"]
        + ["--max-steps", "24"]
        + ["--out-dir", str(tmp_path / "ft"), "--json", str(out), "-q"]
    )
    assert res.exit_code == 0, res.output
    ft = json.loads(out.read_text())["stats"]["finetune"]
    v = ft["verdict"]
    assert ft["task"] == "causal_lm" and v["outcome"] == "better", v["headline"]
    assert v["loss"]["ci_high"] < 0 and v["loss"]["b"] < v["loss"]["a"]
    raw_run, cur_run = ft["runs"]["raw"], ft["runs"]["curated"]
    assert [r["seed"] for r in raw_run["seeds"]] == [0, 1]
    assert raw_run["train"]["max_steps"] == cur_run["train"]["max_steps"]  # equal steps
    assert raw_run["train_rows"] + raw_run["val_rows"] == 240
    assert cur_run["train_rows"] + cur_run["val_rows"] == 120
    assert ft["test"]["conversations"] == 60 and ft["template"]["kind"] == "plain"
    assert all(r["test"]["perplexity"] > 1 for r in raw_run["seeds"] + cur_run["seeds"])
    assert ft["budget"]["unit"] == "conversations"
    print(v["headline"], *v["lines"], sep="\n")


@pytest.mark.slow
def test_run_pipeline_and_lora_on_conversations(tmp_path):
    import yaml

    from dataqa.pipeline import run_pipeline

    raw, _, test, _ = _planted(tmp_path, n_train=120, n_test=30)
    spec = {
        "name": "sft",
        "out": str(tmp_path / "run"),
        "data": {"train": str(raw), "test": str(test)},
        "stages": {
            "audit": {"checks": ["hygiene", "duplicates", "conversations"]},
            "clean": {},
            "finetune": {"model": "tiny", "seeds": 1, "max_steps": 4, "max_length": 48},
        },
    }
    path = tmp_path / "pipe.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = run_pipeline(path, progress=False)
    ft = out["report"].stats["finetune"]
    cur = ft["runs"]["curated"]
    assert ft["task"] == "causal_lm" and cur["train_rows"] + cur["val_rows"] == 60
    lines = Path(out["outputs"]["curated"]).read_text(encoding="utf-8").splitlines()
    curated = [json.loads(line) for line in lines]
    assert len(curated) == 60 and all("messages" in r for r in curated)

    import dataqa

    lora = dataqa.finetune(
        [dataqa.load(raw)],
        dataqa.load(test),
        model="tiny",
        options=dataqa_options(seeds=1, max_steps=3, max_length=48, lora=True),
    )
    run = lora.stats["finetune"]["runs"]["train"]["train"]
    assert 0 < run["trainable_params"] < run["total_params"] / 5


def dataqa_options(**kw):
    from dataqa.train.options import make_options

    return make_options(**kw)
