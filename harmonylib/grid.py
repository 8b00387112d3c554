"""The experiment grid of report chapter 5, declared once (``./run_all.sh`` runs it; notebooks 50-57 read it).

Every :class:`Experiment` is a training notebook executed through papermill with its ``parameters``
(plus ``profile``, ``data_dir`` and ``run_name``); ``harmonylib.pipeline`` plans the jobs from
:func:`experiments_for`, and ``harmonylib.comparisons`` opens their run folders by :func:`run_name`.
Run folders are named by profile, so a smoke run never overwrites a default one.

No pandas and no torch here: the pipeline imports this module before any notebook runs.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field, replace

from . import paths, reference
from .config import Profile
from .errors import HarmonyError

NOTEBOOKS = {
    "raw_cnn": "30_train_raw_cnn.py",
    "mfcc_cnn": "31_train_mfcc_cnn.py",
    "features_cnn": "32_train_features_cnn.py",
    "resnet50": "33_train_resnet50.py",
    "ast": "34_train_ast.py",
}
# AST weight decay (report 5.6) per optimiser group of harmonylib.recipes.paper_groups.
AST_L2_LOW = {"weight_decay": dict(reference.AST_L2_LOWER)}
AST_L2_HIGH = {"weight_decay": dict(reference.AST_L2_HIGHER)}


@dataclass(frozen=True)
class Experiment:
    """One training run: ``notebook`` executed with ``parameters``; ``group`` is the report figure
    that introduces it, ``used_in`` every figure that reads it, ``label`` its name in figures."""

    name: str
    notebook: str
    parameters: dict = field(default_factory=dict)
    group: str = ""
    used_in: tuple[str, ...] = ()
    label: str = ""

    @property
    def model(self) -> str:
        return next(model for model, notebook in NOTEBOOKS.items() if notebook == self.notebook)


def _experiment(name: str, model: str, label: str, used_in: tuple[str, ...], *, dataset: str = "irmas",
                window: int = 1, sampling: str = "static", max_sampled: int | None = None,
                eval_datasets: tuple[str, ...] = ("irmas",), **extra) -> Experiment:
    parameters = {"dataset": dataset, "window": window, "sampling": sampling, "max_sampled": max_sampled,
                  "eval_datasets": list(eval_datasets), **extra}
    return Experiment(name, NOTEBOOKS[model], parameters, used_in[0], used_in, label)


EXPERIMENTS: list[Experiment] = [
    # 5.1 window sizes (static ResNet-50 on IRMAS); the 1-s run is also the static baseline of
    # 5.3, the IRMAS row of the 5.4 2x2 (hence also tested on AudioSet), a 5.7 model and a 5.8 candidate.
    _experiment("resnet50_w1", "resnet50", "ResNet-50, window 1 s", ("5.1", "5.3", "5.4", "5.7", "5.8"),
                eval_datasets=("irmas", "audioset")),
    _experiment("resnet50_w2", "resnet50", "ResNet-50, window 2 s", ("5.1",), window=2),
    _experiment("resnet50_w3", "resnet50", "ResNet-50, window 3 s", ("5.1", "5.3"), window=3),
    # 5.2 the non-pretrained CNNs, window 1 s
    _experiment("raw_cnn_w1", "raw_cnn", "1-D CNN raw audio", ("5.2", "5.7")),
    _experiment("mfcc_cnn_w1", "mfcc_cnn", "2-D CNN MFCC", ("5.2", "5.7")),
    _experiment("features_cnn_w1", "features_cnn", "1-D CNN audio features", ("5.2", "5.7")),
    # 5.3 dynamic sampling (report 3.5): true dynamic (TDS) and base-sample-persistent (BSPDS)
    _experiment("resnet50_w1_tds4", "resnet50", "ResNet-50 TDS-4, window 1 s", ("5.3",), sampling="tds", max_sampled=4),
    _experiment("resnet50_w1_tds5", "resnet50", "ResNet-50 TDS-5, window 1 s", ("5.3",), sampling="tds", max_sampled=5),
    _experiment("resnet50_w1_bspds5", "resnet50", "ResNet-50 BSPDS-5, window 1 s", ("5.3",), sampling="bspds",
                max_sampled=5),
    _experiment("resnet50_w3_bspds5", "resnet50", "ResNet-50 BSPDS-5, window 3 s", ("5.3", "5.8"), window=3,
                sampling="bspds", max_sampled=5),
    # 5.4 / 5.5a trained on AudioSet, tested on AudioSet and IRMAS
    _experiment("resnet50_audioset_w1", "resnet50", "ResNet-50 trained on the AudioSet data", ("5.4", "5.5"),
                dataset="audioset", eval_datasets=("audioset", "irmas")),
    _experiment("ast_audioset_w1", "ast", "AST trained on the AudioSet data", ("5.5",), dataset="audioset",
                eval_datasets=("audioset", "irmas"), **AST_L2_LOW),
    # 5.5b / 5.6 AST on IRMAS with lower and higher L2 regularisation
    _experiment("ast_w1_l2low", "ast", "AST, lower L2", ("5.5", "5.6"), **AST_L2_LOW),
    _experiment("ast_w1_l2high", "ast", "AST, higher L2", ("5.5", "5.6", "5.7", "5.8"), **AST_L2_HIGH),
    # 5.9 (beyond the report, notebook 58) the three final candidates again, trained on SynthIRMAS-DR: the same
    # notes rendered from several SoundFonts through randomised rooms and microphones (synthetic profiles only)
    # (their test split is SynthIRMAS's, so they predict it once, as irmas_dr)
    _experiment("resnet50_w1_dr", "resnet50", "ResNet-50, window 1 s, domain-randomised", ("5.9",),
                dataset="irmas_dr", eval_datasets=("irmas_dr",)),
    _experiment("resnet50_w3_bspds5_dr", "resnet50", "ResNet-50 BSPDS-5, window 3 s, domain-randomised", ("5.9",),
                dataset="irmas_dr", eval_datasets=("irmas_dr",), window=3, sampling="bspds", max_sampled=5),
    _experiment("ast_w1_l2high_dr", "ast", "AST, higher L2, domain-randomised", ("5.9",), dataset="irmas_dr",
                eval_datasets=("irmas_dr",), **AST_L2_HIGH),
]
DOMAIN_RANDOMISED = ("resnet50_w1_dr", "resnet50_w3_bspds5_dr", "ast_w1_l2high_dr")
BY_NAME = {e.name: e for e in EXPERIMENTS}


def run_name(name: str, profile: Profile) -> str:
    """The run folder's name of experiment ``name`` at ``profile``: ``<profile>-<name>``."""
    return f"{profile.name}-{name}"


def experiments_for(profile: Profile) -> list[Experiment]:
    """The experiments ``./run_all.sh`` runs at ``profile``, each with its ``run_name`` parameter.

    A profile may leave out experiments (``EvalConfig.skip_experiments``) to fit its budget; the
    evaluation notebooks then skip the bars of those runs and say so, never a whole comparison. The
    domain-randomised experiments need SynthIRMAS-DR, which only the synthetic profiles render.
    """
    unknown = set(profile.evaluate.skip_experiments) - set(BY_NAME)
    if unknown:
        raise HarmonyError(f"profile {profile.name!r} skips unknown experiments {sorted(unknown)}")
    return [replace(e, parameters={**e.parameters, "run_name": run_name(e.name, profile)})
            for e in EXPERIMENTS if e.name not in skipped(profile)]


def skipped(profile: Profile) -> tuple[str, ...]:
    """The experiments ``profile`` leaves out: those it names, and the domain-randomised ones where it has no
    SynthIRMAS-DR."""
    return profile.evaluate.skip_experiments + (() if profile.has_domain_randomised_data else DOMAIN_RANDOMISED)


def command_for(name: str, profile: Profile) -> str:
    """The shell command that produces experiment ``name``'s run folder at ``profile`` on its own."""
    experiment = BY_NAME[name]
    parameters = {"profile": profile.name, **experiment.parameters, "run_name": run_name(name, profile)}
    out = paths.build_dir() / "notebooks" / profile.name / "experiments" / f"{name}.ipynb"
    whole_grid = f"./run_all.sh --profile {profile.data_profile}" + (" --fast-dev-run" if profile.is_fast_dev_run else "")
    return (f".venv/bin/jupytext --to ipynb --set-kernel python3 -o /tmp/{name}.ipynb notebooks/{experiment.notebook}"
            f" && .venv/bin/papermill /tmp/{name}.ipynb {out} -y {shlex.quote(json.dumps(parameters))}"
            f"   (or the whole grid: {whole_grid})")
