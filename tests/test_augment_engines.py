"""Back-translation engines (Apertium, a tiny local MarianMT) and the nlpaug synonym backend."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from dataqa.augmentation.wordnet import DEFAULT_DIR
from dataqa.errors import DataQAError

needs_apertium = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="needs Debian apertium apertium-eng-spa"
)


@pytest.mark.slow
@needs_apertium
def test_apertium_keeps_line_alignment_and_counts_negation_loss():
    from dataqa.augmentation.backtranslate import apertium_roundtrip, apertium_translate
    from dataqa.augmentation.filter import filter_candidates

    texts = [
        "it has none of the charm of the original .",
        "",
        "why can't I transfer [money] to my account?",
        "a line\nbroken in two",
        "weird ^chars$ / @ * # 50% off",
        "second line",
    ]
    spanish = apertium_translate(texts, "eng-spa")
    assert len(spanish) == len(texts) and spanish[1] == ""
    assert "línea" in spanish[-1]
    back = apertium_roundtrip(texts)
    assert len(back) == len(texts) and back[-1].lower().startswith("second")
    # the known failure: "has none of" comes back as "has any of"; the filter catches it
    verdict = filter_candidates(back[:1], texts[:1], ["x"], seen_keys=set())
    assert back[0] != texts[0] and verdict["reason"].iat[0] == "negation_changed"


@needs_apertium
def test_missing_apertium_pair_names_the_package():
    from dataqa.augmentation.backtranslate import apertium_translate

    with pytest.raises(DataQAError, match="apertium-eng-xyz"):
        apertium_translate(["hello"], "eng-xyz")


def _tiny_marian(path) -> None:
    """A random MarianMT with a word-level tokenizer, saved like a real checkpoint."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    words = "how do i top up my card the money is not there why was i charged a fee ?"
    tok.train_from_iterator(
        [words] * 3, trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"])
    )
    tok.post_processor = TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    cfg = MarianConfig(
        vocab_size=tok.get_vocab_size(),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=24,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=1,
    )
    torch.manual_seed(0)
    MarianMTModel(cfg).save_pretrained(path)
    fast.save_pretrained(path)


@pytest.mark.slow
def test_marian_from_a_local_checkpoint(tmp_path):
    from dataqa.augmentation import AugmentOptions, FilterOptions, augment
    from dataqa.augmentation.backtranslate import marian_roundtrip
    from dataqa.dataset import from_frame

    model = tmp_path / "tiny-marian"
    _tiny_marian(model)
    texts = ["how do i top up my card ?", "why was i charged a fee ?", "the money is not there"]
    cache: dict = {}
    kw = {"cache": cache, "threads": 1}  # one thread: far faster on a busy CI machine
    out = marian_roundtrip(texts, str(model), str(model), batch_size=2, **kw)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert out == marian_roundtrip(texts, str(model), str(model), batch_size=3, **kw)
    s1 = marian_roundtrip(texts, str(model), str(model), sample=True, seed=5, **kw)
    assert s1 == marian_roundtrip(texts, str(model), str(model), sample=True, seed=5, **kw)
    # through the stage: a random model makes nonsense, so the filter is off here
    frame = pd.DataFrame({"text": texts * 4 + ["why was i charged ?"], "label": ["a"] * 12 + ["b"]})
    ds = from_frame(frame)
    opts = AugmentOptions(
        engine="marian",
        model=str(model),
        back_model=str(model),
        filter=FilterOptions(enabled=False),
        check_language=False,
        threads=1,
    )
    res, stats = augment(ds, "backtranslate", per_class=4, options=opts, seed=0)
    new = res.frame[res.frame["dataqa_method"].notna()]
    assert set(new["label"]) == {"b"} and len(new) == stats["rows_added"] >= 1
    params = json.loads(new["dataqa_params"].iloc[0])
    assert params["engine"] == "marian" and params["model"] == str(model)


@pytest.mark.slow
@pytest.mark.skipif(not (DEFAULT_DIR / "index.sense").is_file(), reason="needs wordnet-sense-index")
def test_nlpaug_backend_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from dataqa.augmentation.synonym import nlpaug_augmenter, nlpaug_synonyms
    from dataqa.augmentation.wordnet import nltk_data_dir

    data = nltk_data_dir()
    folder = data / "corpora" / "wordnet"
    lexnames = (folder / "lexnames").read_text().splitlines()
    assert len(lexnames) == 45 and lexnames[3] == "03\tnoun.Tops\t1"
    assert not any(p.is_symlink() for p in folder.iterdir())
    aug = nlpaug_augmenter(0.3)
    texts = ["the movie is not good but the actors are great", "my transfer to the bank failed"]
    out = nlpaug_synonyms(texts, [1, 2], augmenter=aug)
    assert out == nlpaug_synonyms(texts, [1, 2], augmenter=aug)
    assert out != texts
    for w in ("not", "good", "great"):
        assert w in out[0].split()
