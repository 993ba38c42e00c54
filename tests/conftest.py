from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data, or skip the test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (the shared datasets live beside the repo)")
    return path


@pytest.fixture(scope="session")
def demo():
    """(train, test, ground truth) of the embedded demo, generated once per session."""
    from dataqa.demo import make_demo

    return make_demo(rows=1200, seed=7)


@pytest.fixture(scope="session")
def demo_ds(demo):
    from dataqa.dataset import from_frame

    train, _, _ = demo
    return from_frame(train, group_col="brand")


@pytest.fixture(scope="session")
def banking77_train() -> pd.DataFrame:
    return pd.read_csv(shared_data("banking77", "train.csv"))


@pytest.fixture(scope="session")
def sst2_dev() -> pd.DataFrame:
    return pd.read_csv(shared_data("sst2", "dev.tsv"), sep="\t", quoting=3)


@pytest.fixture(scope="session")
def sst2_train():
    from dataqa.dataset import load

    return load(shared_data("sst2", "train.tsv"))
