"""From synthetic to real (notebook 58): the study's models on RealSolo, before and after domain randomisation.

Every model of chapter 5 learnt from SoundFont renderings; :func:`realsolo_scores` runs a trained run's model on the
real recordings of :mod:`harmonylib.data.realsolo`, scoring each clip as the test sets are scored (its central
``max_eval_seconds``, every window, S1 or S2). :data:`BEFORE_AFTER` pairs each final candidate of chapter 5 with the
same recipe trained on SynthIRMAS-DR (:mod:`harmonylib.grid`'s domain-randomised experiments);
:func:`named_first` and :func:`confusion` say which instrument a model names first for each solo and where it goes
wrong.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Profile
from .evaluate import aggregate
from .labels import CLASSES, multi_hot_matrix
from .runs import Run

# the final candidates of chapter 5 (notebook 57) and their domain-randomised retraining
BEFORE_AFTER = (("resnet50_w1", "resnet50_w1_dr"), ("resnet50_w3_bspds5", "resnet50_w3_bspds5_dr"),
                ("ast_w1_l2high", "ast_w1_l2high_dr"))


def realsolo_scores(run: Run, frame: pd.DataFrame, profile: Profile, strategy: str = "S2") -> np.ndarray:
    """Clip scores (clips, 11) of ``run``'s model on the clips of ``frame`` (``path``, ``labels``): every window of
    each clip's central ``profile.train.max_eval_seconds`` (the last zero-padded), aggregated with ``strategy``."""
    from .predict import BATCH, load_predictor
    from .recipes import evaluation_set
    from .train import group_windows, predict_windows

    predictor = load_predictor(run.path, device=profile.torch_device())
    windows = predict_windows(predictor.model, evaluation_set(frame, predictor.sample_rate, predictor.window,
                                                              profile.train.max_eval_seconds),
                              predictor.model_input, predictor.device, BATCH)
    clips, (probs,) = group_windows(windows["clip_index"], windows["probs"])
    if not np.array_equal(clips, np.arange(len(frame))):
        raise ValueError(f"run {run.name} scored {len(clips)} of {len(frame)} clips")
    return aggregate(probs, strategy)


def evaluation_clips(frame: pd.DataFrame, max_clips: int | None) -> pd.DataFrame:
    """The RealSolo clips a profile scores: all of them, or the first ``max_clips`` solos and the first
    ``max_clips`` mixtures where the profile keeps only that many clips per evaluation split (a fast dev run)."""
    if max_clips is None:
        return frame
    return pd.concat([frame[frame["kind"] == kind].head(max_clips) for kind in ("solo", "mixture")],
                     ignore_index=True)


def labels_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The clips' labels as a (clips, 11) 0/1 matrix."""
    return multi_hot_matrix(frame["labels"]).astype(int)


def named_first(scores: np.ndarray) -> np.ndarray:
    """The class each clip's highest score names (codes)."""
    return np.asarray(CLASSES)[np.argmax(scores, axis=1)]


def confusion(true_codes, predicted_codes) -> pd.DataFrame:
    """Solos per (true class, class named first): rows true, columns named, every class on both axes."""
    table = pd.crosstab(pd.Categorical(true_codes, CLASSES), pd.Categorical(predicted_codes, CLASSES), dropna=False)
    table.index.name, table.columns.name = "true", "named first"
    return table
