"""Every published number the study compares itself with, each with its source (all notebooks).

The study reproduces *Harmony Is All You Need: Predominant Instrument Recognition* (Ferković & Smoljan,
2023; "the report" below). Its numbers, those of its public code, of the IRMAS data set (Bosch, Janer,
Fuhrmann & Herrera, ISMIR 2012; Zenodo record 1290750, https://zenodo.org/record/1290750) and of the
literature on IRMAS live here and nowhere else; notebooks, figures and the other modules cite this
module. Each constant's comment names where its numbers come from.

The helpers at the end look numbers up for the "beside the report" tables and sentences of chapter 5
(``harmonylib.comparisons``).
"""
from __future__ import annotations

from dataclasses import dataclass

# ----------------------------------------------------------------------------- chapter 4: recipes
# Report Tables 4.3 (the three CNNs), 4.4 (ResNet-50) and 4.5 (AST): per optimiser group the initial
# and final learning rate and the L2 weight decay; 35 epochs, batch 16, polynomial decay (power 0.7)
# after a 5 % warm-up. AST's backbone ("base") and classifier have an optimiser each (report 4.5).
PAPER_EPOCHS = 35
PAPER_BATCH_SIZE = 16
PAPER_OPTIMISERS: dict[str, tuple[tuple[str, float, float, float], ...]] = {  # (group, lr, final lr, L2)
    "cnn": (("all", 1e-3, 1e-5, 5e-4),),
    "resnet50": (("all", 2e-4, 1e-6, 1e-5),),
    "ast": (("base", 2e-5, 2e-6, 1e-4), ("classifier", 1e-3, 1e-4, 1e-3)),
}
# Report 5.6: the AST's "lower" and "higher" L2 regularisation, per optimiser group.
AST_L2_LOWER = {"base": 1e-5, "classifier": 1e-5}
AST_L2_HIGHER = {"base": 1e-4, "classifier": 1e-3}

# Report Table 4.1, and the original code's models counted for 11 classes: parameters per model.
PAPER_PARAMETERS = {
    "raw_cnn": 180_427,
    "mfcc_cnn": 879_275,
    "features_cnn": 114_859,
    "resnet50": 23_530_571,
    "ast": 86_197_259,  # max_length 1024; 85,349,387 with the 1-s input (max_length 100)
}

# Report Figure 5.7: hours to train 35 epochs on one RTX 2080 Ti (1-s input).
ORIGINAL_HOURS = {"ast": 4.1, "raw_cnn": 5.0, "mfcc_cnn": 6.6, "resnet50": 7.6, "features_cnn": 18.3}

# Report Table 3.3: examples per epoch N of dynamic sampling (Eq. 3.1, n = 6,705 IRMAS training clips,
# P = 0.1 %) for minSampled 1 and maxSampled 2-5.
TABLE_3_3 = {2: 30875, 3: 23156, 4: 18525, 5: 15437}

# ----------------------------------------------------------------------------- chapter 5: results
# Report Figures 5.1-5.5 and 5.8, read off the bars: IRMAS test split (the authors' random split of the
# testing data), S2 aggregation, threshold 0.5. Key: (experiment of harmonylib.grid, test data set).
PAPER_RESULTS: dict[tuple[str, str], dict[str, float]] = {
    ("resnet50_w1", "irmas"): {"hamming_score": 0.9011, "exact_match": 0.353, "macro_f1": 0.5507,
                               "macro_precision": 0.598, "macro_recall": 0.542},
    ("resnet50_w2", "irmas"): {"hamming_score": 0.8986, "exact_match": 0.3345, "macro_f1": 0.5432},
    ("resnet50_w3", "irmas"): {"hamming_score": 0.9000, "exact_match": 0.3252, "macro_f1": 0.5384},
    ("raw_cnn_w1", "irmas"): {"hamming_score": 0.8365, "exact_match": 0.198, "macro_f1": 0.4565,
                              "macro_precision": 0.407, "macro_recall": 0.554},
    ("mfcc_cnn_w1", "irmas"): {"hamming_score": 0.837, "exact_match": 0.232, "macro_f1": 0.4276},
    ("features_cnn_w1", "irmas"): {"hamming_score": 0.8297, "exact_match": 0.228, "macro_f1": 0.371,
                                   "macro_precision": 0.405, "macro_recall": 0.415},
    ("resnet50_w3_bspds5", "irmas"): {"hamming_score": 0.9015, "exact_match": 0.355, "macro_f1": 0.5466},
    ("resnet50_w1_bspds5", "irmas"): {"hamming_score": 0.893, "exact_match": 0.3435, "macro_f1": 0.5368},
    ("resnet50_w1_tds5", "irmas"): {"hamming_score": 0.894, "exact_match": 0.337, "macro_f1": 0.5406,
                                    "macro_precision": 0.560, "macro_recall": 0.583},
    ("resnet50_w1_tds4", "irmas"): {"hamming_score": 0.8957, "exact_match": 0.3495, "macro_f1": 0.5378},
    ("resnet50_audioset_w1", "irmas"): {"hamming_score": 0.8593, "exact_match": 0.2175, "macro_f1": 0.4728},
    ("resnet50_audioset_w1", "audioset"): {"hamming_score": 0.9378, "exact_match": 0.5994, "macro_f1": 0.7162},
    ("resnet50_w1", "audioset"): {"hamming_score": 0.8702, "exact_match": 0.3132, "macro_f1": 0.4832},
    ("ast_audioset_w1", "irmas"): {"hamming_score": 0.8588, "exact_match": 0.2144, "macro_f1": 0.4557},
    ("ast_w1_l2low", "irmas"): {"hamming_score": 0.8956, "exact_match": 0.3222, "macro_f1": 0.5138},
    ("ast_w1_l2high", "irmas"): {"hamming_score": 0.8983, "exact_match": 0.351, "macro_f1": 0.5656},
}

# The report's findings, each as the comparison that tests it (harmonylib.comparisons.claim_verdicts;
# notebooks 13 and 50-57 give each its verdict at their profile, figures/claims.csv gathers them).
# ``pairs``: (A, B) systems as "experiment" (tested on IRMAS) or "experiment@test data"; ``expect``:
# "higher" (A's metric above B's), "similar" (A and B no further apart than the equivalence margin) or
# "descriptive" (decided from a notebook's numbers, not a paired test; the notebook says how).
@dataclass(frozen=True)
class Claim:
    """One finding of the report: where it is (``section``), what the report says, and how to test it."""

    key: str
    section: str
    figure: str  # a paired claim: the report figure (a comparisons.COMPARISONS key) whose tests decide it;
    # a descriptive one: the report's section or figure whose numbers the notebook reads
    statement: str
    metric: str
    expect: str
    pairs: tuple[tuple[str, str], ...] = ()


_DYNAMIC = ("resnet50_w1_tds4", "resnet50_w1_tds5", "resnet50_w1_bspds5", "resnet50_w3_bspds5")
CLAIMS: tuple[Claim, ...] = (
    Claim("anova-features-differ", "2.5", "2.5", "every audio feature's mean differs between the instruments "
          "(one-way ANOVA, p < 0.001), but for some tonnetz dimensions", "p-value", "descriptive"),
    Claim("window-1s-beats-2s", "5.2", "5.1", "1-s windows perform slightly better than 2-s windows", "macro_f1",
          "higher",
          (("resnet50_w1", "resnet50_w2"),)),
    Claim("window-1s-beats-3s", "5.2", "5.1", "1-s windows perform slightly better than 3-s windows", "macro_f1",
          "higher",
          (("resnet50_w1", "resnet50_w3"),)),
    Claim("resnet-beats-raw-cnn", "5.3", "5.2a", "the raw-audio 1-D CNN is significantly worse than ResNet-50",
          "macro_f1", "higher", (("resnet50_w1", "raw_cnn_w1"),)),
    Claim("resnet-beats-mfcc-cnn", "5.3", "5.2a", "the MFCC 2-D CNN is significantly worse than ResNet-50",
          "macro_f1", "higher", (("resnet50_w1", "mfcc_cnn_w1"),)),
    Claim("resnet-beats-features-cnn", "5.3", "5.2a", "the audio-features 1-D CNN is significantly worse than "
          "ResNet-50", "macro_f1", "higher", (("resnet50_w1", "features_cnn_w1"),)),
    Claim("cnns-similar-hamming", "5.3", "5.2a", "the Hamming score is very similar for the three CNNs",
          "hamming_score", "similar", (("raw_cnn_w1", "mfcc_cnn_w1"), ("raw_cnn_w1", "features_cnn_w1"),
                                       ("mfcc_cnn_w1", "features_cnn_w1"))),
    Claim("raw-cnn-higher-f1", "5.3", "5.2a", "the raw-audio CNN has a higher macro F1 than the audio-features CNN",
          "macro_f1", "higher", (("raw_cnn_w1", "features_cnn_w1"),)),
    Claim("features-cnn-higher-exact", "5.3", "5.2a", "the audio-features CNN has a higher exact match than the "
          "raw-audio CNN", "exact_match", "higher", (("features_cnn_w1", "raw_cnn_w1"),)),
    Claim("raw-cnn-higher-recall", "5.3", "5.2b", "the raw-audio CNN has a much higher macro recall than the "
          "audio-features CNN", "macro_recall", "higher", (("raw_cnn_w1", "features_cnn_w1"),)),
    Claim("cnns-similar-precision", "5.3", "5.2b", "the raw-audio and audio-features CNNs have almost the same "
          "macro precision", "macro_precision", "similar", (("raw_cnn_w1", "features_cnn_w1"),)),
    Claim("dynamic-methods-similar", "5.4", "5.3a", "none of the four dynamic sampling methods is significantly "
          "better than the others", "macro_f1", "similar",
          tuple((a, b) for i, a in enumerate(_DYNAMIC) for b in _DYNAMIC[i + 1:])),
    Claim("dynamic-raises-recall", "5.4", "5.3b", "dynamic sampling raises the macro recall (TDS-5 against static "
          "at 1 s, BSPDS-5 against static at 3 s)", "macro_recall", "higher",
          (("resnet50_w1_tds5", "resnet50_w1"), ("resnet50_w3_bspds5", "resnet50_w3"))),
    Claim("dynamic-lowers-precision", "5.4", "5.3b", "dynamic sampling lowers the macro precision",
          "macro_precision", "higher", (("resnet50_w1", "resnet50_w1_tds5"), ("resnet50_w3", "resnet50_w3_bspds5"))),
    Claim("dynamic-keeps-f1", "5.4", "5.3a", "dynamic sampling leaves the macro F1 roughly the same", "macro_f1",
          "similar", (("resnet50_w1_tds5", "resnet50_w1"), ("resnet50_w3_bspds5", "resnet50_w3"))),
    Claim("in-domain-beats-transfer-irmas", "5.5", "5.4", "on IRMAS, the model trained on IRMAS is significantly "
          "better than the one trained on AudioSet", "macro_f1", "higher",
          (("resnet50_w1@irmas", "resnet50_audioset_w1@irmas"),)),
    Claim("in-domain-beats-transfer-audioset", "5.5", "5.4", "on AudioSet, the model trained on AudioSet is "
          "significantly better than the one trained on IRMAS", "macro_f1", "higher",
          (("resnet50_audioset_w1@audioset", "resnet50_w1@audioset"),)),
    Claim("ast-similar-to-resnet", "5.6", "5.5a", "trained on AudioSet and tested on IRMAS, AST and ResNet-50 "
          "perform very similarly", "macro_f1", "similar", (("ast_audioset_w1@irmas", "resnet50_audioset_w1@irmas"),)),
    Claim("ast-more-l2-better", "5.6", "5.5b", "the AST with more L2 regularisation performs significantly better",
          "macro_f1", "higher", (("ast_w1_l2high", "ast_w1_l2low"),)),
    Claim("ast-less-l2-overfits", "5.6", "5.6", "the AST with less L2 overfits: its validation loss bottoms out "
          "higher and later than with more L2", "validation loss", "descriptive"),
    Claim("ast-trains-fastest", "5.7", "5.7", "the AST trains fastest of the five models per epoch",
          "seconds per epoch", "descriptive"),
    Claim("features-cnn-trains-slowest", "5.7", "5.7", "the audio-features CNN trains slowest of the five models",
          "seconds per epoch", "descriptive"),
    Claim("bspds-w3-best-candidate", "5.8", "5.8", "the BSPDS-5 ResNet-50 with 3-s windows is the best of the three "
          "final candidates on 2 of the 3 metrics", "Hamming score, exact match, macro F1", "descriptive"),
)
# A "similar" claim holds where the 95 % interval of the difference lies inside +-EQUIVALENCE_MARGIN and
# fails where it lies wholly outside: the differences between the systems the report calls similar are
# 0.002-0.017 in its own figures (PAPER_RESULTS), so a difference within 0.02 is what "similar" means there.
EQUIVALENCE_MARGIN = 0.02


def claim(key: str) -> Claim:
    """The report's finding ``key`` of :data:`CLAIMS`."""
    found = [c for c in CLAIMS if c.key == key]
    if not found:
        raise KeyError(f"no claim {key!r}; the claims are {[c.key for c in CLAIMS]}")
    return found[0]


def claim_system(side: str) -> tuple[str, str]:
    """``"experiment"`` or ``"experiment@test"`` of a claim's pair as (experiment, test data set)."""
    experiment, _, test = side.partition("@")
    return experiment, test or "irmas"


# Published results on the full IRMAS test set: (system and source, micro F1, macro F1; None: not reported).
PUBLISHED_RESULTS: tuple[tuple[str, float, float | None], ...] = (
    ("Han, Kim & Lee 2017 (S1/S2 paper, 1-s windows; IEEE/ACM TASLP 25(1))", 0.602, 0.503),
    ("Lekshmi & Rajan 2022, Swin-T ensemble", 0.66, 0.62),
    ("Zhong et al. 2023 (threshold picked on the test set: optimistic)", 0.674, None),
    ("fine-tuned PaSST (unreviewed)", 0.688, 0.617),
)

# ----------------------------------------------------------------------------- the IRMAS data set
# IRMAS (Zenodo record 1290750), counted on the release: training clips per class (6,705 in all; every
# one 3 s at 44.1 kHz), labels per class over the 2,874 test excerpts, test excerpts by number of labels.
IRMAS_TRAIN_COUNTS = dict(cel=388, cla=505, flu=451, gac=637, gel=760, org=682, pia=721, sax=626, tru=577,
                          vio=580, voi=778)
IRMAS_TEST_LABEL_COUNTS = dict(voi=1044, pia=995, gel=942, gac=535, org=361, sax=326, vio=211, tru=167,
                               flu=163, cel=111, cla=62)
IRMAS_LABELS_PER_CLIP = {1: 1236, 2: 1278, 3: 318, 4: 39, 5: 3}
IRMAS_TRAIN_SAMPLES = 132_299  # the length of every training clip of the release: one sample short of 3 s
IRMAS_TEST_PARTS = (  # (folder, inner folder, excerpts) of the three testing archives
    ("IRMAS-TestingData-Part1", "Part1", 807),
    ("IRMAS-TestingData-Part2", "IRTestingData-Part2", 1301),
    ("IRMAS-TestingData-Part3", "Part3", 766),
)
IRMAS_TEST_SONGS = 208  # songs of the 2,874 test excerpts (a name less its trailing "-N"), 1-47 excerpts each


# ----------------------------------------------------------------------------- the AudioSet data set
# Report 3.6.2: the AudioSet clips the study collected from balanced_train_segments.csv and
# unbalanced_train_segments.csv (split 70/10/20 into 14,618 / 2,088 / 4,176; report 2.4 says 20,885).
AUDIOSET_CLIPS = 20_884

# Report 3.2's selection (the IDs of Table 3.2, its exclusions applied, speech counted as voi:
# harmonylib.data.audioset.select_segments) run on Google's AudioSet segment files as published
# (https://research.google.com/audioset/download.html; balanced_train_segments.csv: 22,160 segments,
# eval_segments.csv: 20,371), counted 2026-12-01: segments selected and segments per class. With the report's
# misprinted narration ID (/m/02qlsy) 51 balanced-train rows lose voi and 960 are selected instead of 1,011.
AUDIOSET_SELECTION = {
    "balanced_train_segments.csv": (1011, dict(cel=67, cla=63, flu=62, gac=60, gel=65, org=119, pia=28, sax=63,
                                               tru=64, vio=50, voi=431)),
    "eval_segments.csv": (1143, dict(cel=67, cla=60, flu=60, gac=92, gel=125, org=123, pia=33, sax=62, tru=63,
                                     vio=51, voi=473)),
}


# ----------------------------------------------------------------------------- beside the report
def paper_results(experiment: str, test: str = "irmas") -> dict[str, float]:
    """The report's numbers for an experiment of the grid on a test set ({} where it gave none)."""
    return dict(PAPER_RESULTS.get((experiment, test), {}))


def published_range(metric: str = "macro_f1") -> str:
    """The span of published IRMAS results for ``macro_f1`` or ``micro_f1``, e.g. ``"0.50-0.62"``."""
    column = {"micro_f1": 1, "macro_f1": 2}[metric]
    values = [row[column] for row in PUBLISHED_RESULTS if row[column] is not None]
    return f"{min(values):.2f}-{max(values):.2f}"
