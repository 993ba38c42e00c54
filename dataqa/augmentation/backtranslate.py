"""Back-translation: English -> pivot -> English, through Apertium or MarianMT.

- Apertium (default; Debian `apertium apertium-eng-spa`) runs on any CPU with nothing
  to download: one batched call per direction, one sentence per line (Apertium keeps
  line alignment), `-u` so unknown words come back bare instead of marked `*word`.
  About 200 sentences/s round trip here, plus ~0.7 s start-up per call.
- MarianMT through transformers, from a local checkpoint folder or a hub name the user
  gives (the only case that touches the network): batched, sorted by length to pad
  little, fp16/bf16 on a GPU. The first variant of a row is beam search; further
  variants sample (seeded), which is how one source yields several paraphrases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from dataqa.errors import DataQAError

APERTIUM_PAIRS = {"spa": "apertium-eng-spa"}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "source.spm",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def _one_line(texts: Sequence[str]) -> list[str]:
    """Apertium reads one sentence per line: fold inner line breaks into spaces."""
    return [" ".join(str(t).split()) for t in texts]


def apertium_modes() -> list[str]:
    """Installed Apertium modes (e.g. eng-spa, spa-eng)."""
    exe = shutil.which("apertium")
    if exe is None:
        raise DataQAError(
            "Apertium is not installed (no `apertium` command on PATH)",
            hint="install the Debian packages apertium and apertium-eng-spa "
            "(apt-get install apertium apertium-eng-spa), or use --engine marian --model PATH",
        )
    out = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def apertium_translate(
    texts: Sequence[str], mode: str, *, timeout: float | None = None
) -> list[str]:
    """Translate many sentences with one Apertium call; output i is the translation of input i."""
    if mode not in apertium_modes():
        src, _, tgt = mode.partition("-")
        pivot = tgt if src == "eng" else src
        package = APERTIUM_PAIRS.get(pivot, f"apertium-eng-{pivot}")
        raise DataQAError(
            f"the Apertium language pair {mode} is not installed",
            hint=f"install the Debian package {package} (apt-get install {package})",
        )
    lines = _one_line(texts)
    if not lines:
        return []
    # an empty line stays an empty line; a placeholder keeps even that out of the question
    payload = "\n".join(line or "." for line in lines) + "\n"
    proc = subprocess.run(
        ["apertium", "-u", mode],
        input=payload,
        capture_output=True,
        text=True,
        timeout=timeout or max(120.0, 0.05 * len(lines)),
    )
    if proc.returncode != 0:
        raise DataQAError(
            f"Apertium failed on {mode} (exit {proc.returncode}): {proc.stderr.strip()[:300]}",
            hint="check the installation with: echo hello | apertium -u eng-spa",
        )
    out = proc.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(lines):
        # never guess an alignment: translate line by line instead (slow but exact)
        if len(lines) == 1:
            return [" ".join(out).strip()]
        half = len(lines) // 2
        return apertium_translate(lines[:half], mode) + apertium_translate(lines[half:], mode)
    return [o.strip() if line else "" for o, line in zip(out, lines, strict=True)]


def apertium_roundtrip(texts: Sequence[str], pivot: str = "spa") -> list[str]:
    """English -> pivot -> English with two batched Apertium calls."""
    there = apertium_translate(texts, f"eng-{pivot}")
    return apertium_translate(there, f"{pivot}-eng")


# ---- MarianMT ---------------------------------------------------------------------------------


def check_checkpoint(name: str) -> None:
    """A local model folder must hold a tokenizer; a hub name is checked when loaded."""
    path = Path(name)
    if path.exists():
        if not path.is_dir():
            raise DataQAError(
                "a translation model must be a folder (save_pretrained output), not a file",
                path=name,
            )
        if not any((path / f).is_file() for f in TOKENIZER_FILES):
            raise DataQAError(
                "this model folder has no tokenizer (none of "
                f"{', '.join(TOKENIZER_FILES[:4])}, ...)",
                path=name,
                hint="save the tokenizer next to the model (tokenizer.save_pretrained(folder)), "
                "or give the hub name of the checkpoint",
            )


def load_translator(name: str, device: str, dtype=None):
    """(tokenizer, model) from a local folder or a hub name; clear errors for both."""
    check_checkpoint(name)
    try:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError:
        raise DataQAError(
            "back-translation with Marian needs transformers and torch, which are not installed",
            hint="pip install 'dataqa-finetune[train]', or use --engine apertium",
        ) from None

    try:
        tok = AutoTokenizer.from_pretrained(name)
    except Exception as err:  # missing files, unreachable hub, unknown tokenizer class
        raise DataQAError(
            f"could not load a tokenizer from {name!r} ({type(err).__name__}: {str(err)[:200]})",
            path=name,
            hint="give a folder written by save_pretrained with its tokenizer, or a hub name "
            "(the hub needs network access)",
        ) from None
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(name, dtype=dtype)
    except Exception as err:
        raise DataQAError(
            f"could not load a translation model from {name!r} ({type(err).__name__}: "
            f"{str(err)[:200]})",
            path=name,
            hint="give a MarianMT (or other sequence-to-sequence) checkpoint",
        ) from None
    return tok, model.to(device).eval()


def pick_device(device: str | None = None):
    """(device, dtype): the GPU with bf16 (fp16 where bf16 is missing) when there is one."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32
    return device, dtype


def marian_translate(
    texts: Sequence[str],
    tok,
    model,
    *,
    batch_size: int = 32,
    sample: bool = False,
    seed: int = 0,
    num_beams: int = 4,
    max_new_tokens: int = 256,
) -> list[str]:
    """Translate in length-sorted batches; output order = input order."""
    import torch

    texts = _one_line(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[str] = [""] * len(texts)
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    gen = {"max_new_tokens": max(1, min(max_new_tokens, limit - 1))}
    if sample:
        gen.update(do_sample=True, top_p=0.9, num_beams=1)
    else:
        gen.update(do_sample=False, num_beams=num_beams)
    device = next(model.parameters()).device
    with torch.inference_mode():
        for b, start in enumerate(range(0, len(order), batch_size)):
            ids = order[start : start + batch_size]
            enc = tok(
                [texts[i] for i in ids],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=min(512, limit),
            ).to(device)
            if sample:
                torch.manual_seed(seed * 100_003 + b)
            res = model.generate(**enc, **gen)
            for i, text in zip(ids, tok.batch_decode(res, skip_special_tokens=True), strict=True):
                out[i] = text.strip()
    return out


def marian_roundtrip(
    texts: Sequence[str],
    forward: str,
    backward: str,
    *,
    device: str | None = None,
    batch_size: int = 32,
    sample: bool = False,
    seed: int = 0,
    cache: dict | None = None,
    threads: int | None = None,
) -> list[str]:
    """English -> pivot -> English with two Marian checkpoints (en->xx, xx->en).

    `cache` (a dict the caller keeps) holds loaded models between calls. `threads` caps
    torch's CPU threads for the call: on a busy shared machine one thread can be ten
    times faster than torch's default of one per core.
    """
    try:
        import torch
    except ImportError:
        raise DataQAError(
            "back-translation with Marian needs torch and transformers, which are not installed",
            hint="pip install 'dataqa-finetune[train]', or use --engine apertium",
        ) from None
    dev, dtype = pick_device(device)
    cache = cache if cache is not None else {}
    for name in (forward, backward):
        if name not in cache:
            cache[name] = load_translator(name, dev, dtype)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _there_and_back(texts, cache[forward], cache[backward], batch_size, sample, seed)
    finally:
        torch.set_num_threads(before)


def _there_and_back(texts, fwd, bwd, batch_size: int, sample: bool, seed: int) -> list[str]:
    there = marian_translate(texts, *fwd, batch_size=batch_size, sample=sample, seed=seed)
    return marian_translate(there, *bwd, batch_size=batch_size, sample=sample, seed=seed)


def model_names(
    model: str | os.PathLike | None, back_model: str | os.PathLike | None
) -> tuple[str, str]:
    """Validate the --model / --back-model pair for the Marian engine."""
    if not model or not back_model:
        raise DataQAError(
            "back-translation with Marian needs two checkpoints: en->pivot and pivot->en",
            hint="e.g. --engine marian --model models/opus-mt-en-de --back-model "
            "models/opus-mt-de-en (local folders or hub names)",
        )
    return str(model), str(back_model)
