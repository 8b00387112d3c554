# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 20 · Model inputs: windows, normalisation and five representations of the same second of audio
#
# **Reproduces:** report sections 3.1 (MFCC, mel spectrograms, general audio features), 3.3
# (normalisation), the AST input of 4.5 and the windowing of 4.6.
# **Writes:** nothing to `figures/`; it prints the shape of every model input and checks that the
# batched torch path used in training computes what librosa (the reference) computes.
# **Differs from the report:** the original computed every input with librosa, one clip at a time,
# in the data loader; here each input is a torch module applied to a whole batch on the model's
# device (`harmonylib/inputs.py`) and tested against librosa / `transformers` (tests/test_inputs.py).
# The data are the profile's (**SynthIRMAS** under `smoke` and `default`, not IRMAS), and under those
# profiles the ResNet image is `profile.train.image_mels` × `image_size` (smaller) instead of 256 × 256.
# Three fixes of the original: the normalisation statistics are over all training *samples* (the
# original averaged per-file means and stds); the 40 general-feature rows are standardised with
# training statistics (the original stacked Hz-valued rows in the thousands next to rates in [0, 1]);
# and no validation/test audio is dropped by windowing (the original's `drop_last=True` lost files).

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import time

import librosa
import numpy as np
import pandas as pd
import torch

from harmonylib import features
from harmonylib.config import get_profile
from harmonylib.data import prepare, waveforms
from harmonylib.inputs import INPUT_KINDS, ASTInput, make_input
from harmonylib.labels import multi_hot_matrix
from harmonylib.windows import WindowDataset, Windows

P = get_profile(profile)
F = P.features
SR = F.sample_rate
data = prepare(P, data_dir)
device = P.torch_device()
torch.manual_seed(P.seed)
print(f"{data.irmas_name}: {len(data.train)} training, {len(data.val)} validation, {len(data.test)} test clips; "
      f"device {device}")

# %% [markdown]
# ## 4.6 Windows
#
# Training clips are (almost) 3 s, test excerpts 5-20 s. Every clip is cut into non-overlapping windows of
# $w$ seconds (1 s unless stated); a training window inherits its clip's label, an evaluation window
# remembers its clip so that the window predictions can be aggregated per clip (report 4.7). A partial
# last window is *dropped* in training (no half-silent window labelled "violin") and *zero-padded* in
# evaluation (every second of every test clip is heard); a clip shorter than one window is always
# padded to one window, so no clip disappears.
#
# **"Almost" matters.** Every training clip of the real IRMAS release is 132,299 samples long, one
# sample (0.02 ms) short of 3 s at 44.1 kHz, and SynthIRMAS renders its clips at that same length.
# Dropping strictly, a clip would give two 1-s windows instead of three: a third of the 1-s model's
# training audio lost for a missing sample (the 3-s model keeps its one window either way, since a
# clip shorter than one window is always padded). The report splits a clip of $N$ samples into $M$
# windows of $N/M$, so it never meets the problem. Here a last window short by no more than
# `SHORT_BY_TOLERANCE_S` (10 ms, far more than the real clips need and far less than anything audible
# as a gap) is kept and zero-padded; 2-s windows still drop the last second of a clip. The table shows
# the consequence: a training clip gives exactly three 1-s windows and one 3-s window.

# %%
# NBVAL_CHECK_OUTPUT
stores = {split: waveforms(frame, SR) for split, frame in (("train", data.train), ("val", data.val),
                                                             ("test", data.test))}
rows = []
for seconds in (1, 2, 3):
    row = {"window (s)": seconds}
    for split, store in stores.items():
        windows = Windows(store, SR, seconds, last="drop" if split == "train" else "pad")
        row[f"{split} windows"] = len(windows)
        row[f"{split} clips covered"] = len(np.unique(windows.clip))
    rows.append(row)
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# ## 3.3 Normalisation
#
# The waveform is standardised with the training set's mean and standard deviation, computed over
# every training sample (not, as originally, averaged over per-file statistics, which weighs a short
# quiet file like a long loud one). Only the raw audio is normalised; MFCCs, mel spectrograms and the
# general features are computed *from* the normalised audio and not rescaled again, except the AST
# input (its own fixed normalisation, below) and the general features' row standardisation.

# %%
print(f"training waveform mean {data.mean:.6g}, std {data.std:.6g}")
train = WindowDataset(Windows(stores["train"], SR, 1.0, last="drop"), multi_hot_matrix(data.train["labels"]))
batch_size = min(P.train.batch_size, len(train))
x, y, clip = train.batch(np.random.default_rng(P.seed).permutation(len(train))[:batch_size], device)
z = (x - data.mean) / data.std
print(f"a training batch of {len(x)} windows: mean {x.mean():.4f} -> {z.mean():.4f}, "
      f"std {x.std():.4f} -> {z.std():.4f}")

# %% [markdown]
# ## 3.1 The five inputs
#
# * **raw audio**: the normalised 1-s window, 44 100 samples, one channel (1-D CNN);
# * **MFCC**: 40 coefficients (FFT 2048, hop 512, 128 mel bands), 40 × 87 frames resized to 40 × 256;
# * **mel image**: 256 mel bands in dB relative to the clip's maximum (floor −80 dB), resized to a
#   square and repeated to the 3 channels an ImageNet ResNet expects;
# * **general features**: 40 rows (13 MFCC, 12 chroma, ZCR, centroid, RMS, 7 spectral contrast,
#   bandwidth, rolloff, flatness, 2 polynomial coefficients) × 87 frames, one channel per row;
# * **AST**: 128 Kaldi fbank bins every 10 ms at 16 kHz (100 frames per second), normalised as
#   $(x + 4.2677) / (2 \cdot 4.5690)$, the constants of the AudioSet-pretrained checkpoint.
#
# Why standardise the general features' rows? Spectral centroid and rolloff are in Hz (thousands),
# ZCR and flatness in [0, 1], MFCCs in tens, contrast in dB. Unscaled, the first convolution's
# weighted sums are dominated by the two Hz rows, and weight decay penalises the small-scale rows'
# (necessarily large) weights more. Standardising each row with training statistics (per-row mean
# and std over all training frames) gives every feature the same say at the start of training.

# %%
inputs = {kind: make_input(kind, P, data.mean, data.std) for kind in INPUT_KINDS}
fit_batches = [x[i:i + 8] for i in range(0, len(x), 8)]
inputs["features"].fit(fit_batches)  # the notebook's one batch; training fits on all training windows
raw_rows = inputs["features"].raw(x)
scaled_rows = inputs["features"](x)
names = features.GENERAL_FEATURE_NAMES
print("row scale (std over the batch) before -> after standardising:")
for name in ("zcr", "centroid", "rolloff", "flatness", "mfcc_00", "contrast_band3"):
    i = names.index(name)
    print(f"  {name:15s} {raw_rows[:, i].std():10.4g} -> {scaled_rows[:, i].std():.3g}")

# %%
# NBVAL_CHECK_OUTPUT
shapes = []
with torch.no_grad():
    for kind, module in inputs.items():
        shapes.append({"input": kind, "batch shape": str(tuple(module(x).shape)), "dtype": "float32"})
print(f"a batch of {len(x)} one-second windows at {SR} Hz -> (profile {P.name}):")
print(pd.DataFrame(shapes).to_string(index=False))

# %% [markdown]
# ## librosa (reference) vs. the batched torch path
#
# The training path must compute what the report defines. Every input of one batch is recomputed
# clip by clip with librosa (`harmonylib.features`) or `transformers.ASTFeatureExtractor`, and the
# largest difference is compared with the tolerance the tests use. Differences come from float32
# FFTs in torch vs. numpy; a spectral-rolloff frame may land one FFT bin (21.5 Hz) away when the 85 %
# energy point sits on a bin edge.

# %%
from transformers import ASTFeatureExtractor  # noqa: E402

check = x[: min(4, len(x))].cpu()
normalised = ((check - data.mean) / data.std).numpy()
with torch.no_grad():
    mfcc_torch = inputs["mfcc"].features(check.to(device)).cpu().numpy()
    mel_torch = make_input("mel", P, data.mean, data.std).spectrogram(check.to(device)).cpu().numpy()
    general_torch = inputs["features"].raw(check.to(device)).cpu().numpy()
y16 = torch.from_numpy(np.stack([librosa.resample(w, orig_sr=SR, target_sr=16000) for w in check.numpy()]))
with torch.no_grad():
    ast_torch = ASTInput(16000, 100).to(device)(y16.to(device)).cpu().numpy()
mfcc_ref = np.stack([librosa.feature.mfcc(y=w, sr=SR, n_mfcc=F.n_mfcc) for w in normalised])
mel_ref = np.stack([features.mel_spectrogram(w, SR, F.n_fft, F.hop_length, P.train.image_mels) for w in normalised])
general_ref = np.stack([features.general_features(w, SR, F.n_fft, F.hop_length) for w in normalised])
ast_ref = ASTFeatureExtractor(max_length=100)(list(y16.numpy()), sampling_rate=16000,
                                              return_tensors="np")["input_values"]
groups = pd.Series([name.split("_")[0] for name in names])
rows = []
for group, index in groups.groupby(groups).groups.items():
    diff = np.abs(general_torch[:, index] - general_ref[:, index]).max()
    if group == "rolloff":
        rows.append((f"general: {group}", "max |diff| Hz", diff, SR / F.n_fft))
    else:
        rows.append((f"general: {group}", "max |diff| / max |value|", diff / (np.abs(general_ref[:, index]).max()
                                                                              + 1e-6), 1e-3))
agreement = pd.DataFrame([
    ("MFCC 40", "max |diff|", np.abs(mfcc_torch - mfcc_ref).max(), 0.01),
    ("mel (dB)", "max |diff| dB", np.abs(mel_torch - mel_ref).max(), 0.01),
    *rows,
    ("AST fbank (same 16 kHz input)", "max |diff|", np.abs(ast_torch - ast_ref).max(), 1e-4),
], columns=["input", "measure", "value", "tolerance"])
agreement["within"] = agreement["value"] <= agreement["tolerance"]
print(agreement.to_string(index=False, float_format="%.3g"))

# %% [markdown]
# The AST row gives both the same 16 kHz audio: the training path resamples with torchaudio's sinc
# filter, librosa with soxr, and those two differ near 8 kHz, where the top fbank bins lie. The
# fbank's window is Hann: the report says Hamming, but the checkpoint's feature extractor and the AST
# authors' code use Hann, and the pretrained weights expect it.

# %%
# NBVAL_CHECK_OUTPUT
print(agreement[["input", "within"]].to_string(index=False))

# %% [markdown]
# ## Throughput
#
# Ready inputs per second for a batch of 1-s windows on this machine (the same modules run unchanged
# on a GPU, where none of this touches the CPU). For comparison, the original computed each item with
# librosa: about 2 ms (MFCC) to 10 ms (general features) per 1-s clip on this CPU.

# %%
timings = []
for batch in (16, 64):
    xb = torch.from_numpy(np.stack([train.windows[i % len(train)] for i in range(batch)])).to(device)
    for kind, module in inputs.items():
        with torch.no_grad():
            module(xb[:2])
            start = time.perf_counter()
            module(xb)
            seconds = time.perf_counter() - start
        timings.append({"input": kind, "batch": batch, "inputs/s": round(batch / seconds)})
print(pd.DataFrame(timings).pivot(index="input", columns="batch", values="inputs/s").to_string())

# %% [markdown]
# ## Exercises
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · Unscaled feature rows.** Turn off the row standardisation (`GeneralFeatures(..., standardise=False)`;
# the cell above kept those rows as `raw_rows`) and print the standard deviation of each of the 40 rows over
# the batch. Which rows would dominate a randomly initialised first convolution of the features CNN? Measure
# it: split that convolution's output into each row's own contribution and compare their variances.
# *You should find:* the three rows in Hz (rolloff, bandwidth, centroid) have standard deviations in the
# hundreds to thousands and give more than 99 % of the output's variance; ZCR, flatness and the polynomial
# slope vary by less than 0.03, four to six orders of magnitude less than rolloff.
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** A convolution's output is a weighted sum of its input rows, and PyTorch draws every weight
# of a fresh layer from the same range (its bound depends only on the fan-in, 40 rows × 8 frames here). So
# at the start each row's contribution is as large as the row itself, and its share of the output's
# variance grows with the *square* of the row's scale: a row that varies by 1000 Hz outweighs one that
# varies by 0.001 by a factor of $10^{12}$. Measured on SynthIRMAS at the default profile (one batch of 16
# windows): rolloff varies by about 1900 Hz, bandwidth by 1000 Hz, centroid by 800 Hz, and these three give
# 99.8 % of the first convolution's output variance; the 13 MFCC rows give 0.2 %, and ZCR (0.027), flatness
# (0.0026) and the polynomial slope (0.0007) nothing measurable. The three Hz rows also describe nearly the
# same thing (where the spectrum's energy lies), so the unscaled network starts out seeing little more than
# "brightness". Training would have to grow the small rows' weights by a factor of a thousand or more,
# which weight decay penalises; standardising every row to mean 0 and standard deviation 1 gives every
# feature the same say from the first step (notebook 32 counts what this means for the optimiser).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib.models import build_model  # noqa: E402

row_std = pd.Series(raw_rows.std(dim=(0, 2)).cpu().numpy(), index=names).sort_values(ascending=False)
print("standard deviation of the unscaled rows over this batch (largest four, smallest three):")
print(row_std.iloc[[0, 1, 2, 3, -3, -2, -1]].to_string(float_format="%.3g"))
torch.manual_seed(0)  # a fresh first convolution of the features CNN (40 rows in, 32 channels, kernel 8)
first_conv = build_model("features_cnn").features[0].to(device)
with torch.no_grad():  # each row's own contribution to the output: (40 rows, batch, 32 channels, frames)
    parts = torch.stack([torch.nn.functional.conv1d(raw_rows[:, [r]], first_conv.weight[:, [r]])
                         for r in range(len(names))])
output_share = pd.Series(parts.flatten(1).var(dim=1).cpu().numpy(), index=names)
output_share /= output_share.sum()
hz_rows = ["rolloff", "bandwidth", "centroid"]
print(f"share of the output's variance from the rows in Hz ({', '.join(hz_rows)}): {output_share[hz_rows].sum():.1%};"
      f" from the 13 MFCC rows: {output_share.filter(like='mfcc').sum():.1%}")

# %% [markdown]
# **2 · What windowing throws away.** With 2-s windows, how much of the training audio does `last="drop"`
# throw away? Would padding the last window instead be better for a 3-s clip? And what would
# `Windows(..., tolerance_s=0)` do to the 1-s row of the table above? Count the windows, the share of the
# training audio they keep and the share of their samples that is padding.
# *You should find:* 2-s windows keep two thirds of the audio (one window per clip); padding keeps it all
# but makes a quarter of all 2-s training samples silence; with `tolerance_s=0` the 1-s windows fall from
# three to two per clip, and the 1-s model loses a third of its training audio too.
# *Time:* about a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** A training clip is 132,299 samples, one short of 3 s. Cut into 2-s windows it holds one
# full window and a remainder of 1 s less one sample: short by a whole second, far beyond the 10-ms
# tolerance, so `last="drop"` discards it and a third of the audio is lost. Padding keeps that second, but
# as a window that is half silence and still labelled with the clip's instrument: half of every second
# window, a quarter of all 2-s training samples (measured on SynthIRMAS at the default profile: 1100
# windows keeping 66.7 % of the audio, against 2200 windows with 25.0 % padding). The model would learn that
# a second of silence can be a "violin", and the silence dilutes the batch-norm statistics. Neither is
# free; overlapping windows (a 2-s window every second: 0-2 s and 1-3 s) would keep every sample without
# padding, at the cost of showing the model the middle second twice. With `tolerance_s=0` the last 1-s
# window, short by a single sample (0.02 ms), is dropped too: 2200 windows instead of 3300, a third of the
# 1-s model's training audio lost for nothing, which is why the tolerance exists.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
lengths = np.array([len(stores["train"][i]) for i in range(len(stores["train"]))])
rows = []
for seconds, last, tolerance in ((1, "drop", None), (1, "drop", 0.0), (2, "drop", None), (2, "pad", None),
                                 (3, "drop", None)):
    options = {} if tolerance is None else {"tolerance_s": tolerance}
    windows = Windows(stores["train"], SR, seconds, last=last, **options)
    audio = np.minimum(windows.size, lengths[windows.clip] - windows.start).sum()  # samples of real audio
    rows.append({"window (s)": seconds, "last": last, "tolerance": "10 ms" if tolerance is None else "0",
                 "windows": len(windows), "audio kept": f"{audio / lengths.sum():.1%}",
                 "padding in the windows": f"{1 - audio / (len(windows) * windows.size):.1%}"})
print(f"{len(lengths)} training clips, {lengths.sum() / SR:.0f} s of audio")
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# **3 · The AST's patches.** The AST input has 98 real frames for 1 s of audio, padded to 100. Work out the
# number of 16 × 16 patches with stride 10 (report 4.5) for 1 s and for 10 s (1024 frames), and check your
# count against the position embeddings of an AST built with `build_model("ast", max_length=...)`.
# *You should find:* 12 × 9 = 108 patches for 1 s and 12 × 101 = 1212 for 10 s; the models have 110 and
# 1214 position embeddings, two more than patches.
# *Time:* about 5 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** Kaldi's fbank cuts 25-ms frames (400 samples at 16 kHz) every 10 ms (160 samples) and
# keeps only whole frames: $1 + \lfloor (16000 - 400) / 160 \rfloor = 98$ frames in one second, padded to
# 100. A 16-wide patch moved in steps of 10 fits $\lfloor (n - 16) / 10 \rfloor + 1$ times along an axis
# of $n$: 12 times along the 128 mel bins, 9 times along 100 frames and 101 times along 1024. The AST adds
# two learned tokens to the patches (a classification token and a distillation token, inherited from DeiT),
# hence 110 and 1214 position embeddings. That is why the 10-s AudioSet checkpoint's 1214 position
# embeddings cannot be loaded into a 1-s model and stay freshly initialised (report 4.5), and why a 1-s
# window is so much cheaper: self-attention compares every token with every other, so its cost grows with
# the square of the token count, $(1214 / 110)^2 \approx 122$ times.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
real_frames = ASTInput(SR)._fbank(torch.zeros(16000)).shape[0]  # 1 s at 16 kHz, unpadded
print(f"1 s at 16 kHz: {real_frames} fbank frames (25 ms every 10 ms), padded to 100")
for seconds, frames in ((1, 100), (10, 1024)):
    along_mel, along_time = (128 - 16) // 10 + 1, (frames - 16) // 10 + 1
    small_ast = build_model("ast", max_length=frames, num_hidden_layers=1, hidden_size=64)  # same patching, tiny
    positions = small_ast.ast.audio_spectrogram_transformer.embeddings.position_embeddings.shape[1]
    print(f"{seconds:2d} s = {frames:4d} frames: {along_mel} x {along_time} = {along_mel * along_time} patches; "
          f"the model has {positions} position embeddings")
