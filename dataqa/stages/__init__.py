"""The stage functions of the flow: audit (checks -> Report) and clean (Report -> fixed
Dataset + quarantine). Augmentation and fine-tuning live in their own packages."""
