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
# # 21 · Augmentations: noise, pitch, time shift, frequency and time masks
#
# **Reproduces:** report section 3.4 (audio and spectrogram augmentations).
# **Writes:** Fig. 3.1 (noise injection, α = 0.1), 3.2 (pitch shift up 6 semitones), 3.3 (time shift
# forwards by 40 %), 3.4 (two frequency masks), 3.5 (two time masks), 3.6 (both).
# **Differs from the report:** the clip comes from the profile's data set (**SynthIRMAS** under `smoke`
# and `default`, not IRMAS). The original ran every augmentation with librosa on the CPU, one clip at a
# time, inside the data loader; here they are torch functions of a whole batch on the model's device
# (`harmonylib/augment.py`), seeded by an explicit `torch.Generator`, and the pitch shift is a batched
# phase vocoder (whole-tensor torch on a GPU, one fused numba loop on a CPU) + torchaudio's polyphase
# resampler, checked against librosa's (tests/test_augment.py).
#
# Why augment at all? IRMAS has 6705 training clips for eleven classes; the test excerpts come from
# other recordings, rooms and mixes. An augmentation asks the model to give the same answer for a
# changed input: a little noise, another key, another starting point, a missing band of frequencies
# or a missing moment. What must stay the same is the *instrument*, so each change is kept small.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Audio, display

from harmonylib import plotting
from harmonylib.audio import load
from harmonylib.augment import AudioAugment, SpecAugment, add_noise, pitch_shift, time_shift
from harmonylib.config import get_profile
from harmonylib.data import prepare
from harmonylib.inputs import MelImageInput
from harmonylib.io import Provenance, save_figure

P = get_profile(profile)
F = P.features
SR, HOP = F.sample_rate, F.hop_length
data = prepare(P, data_dir)
PROV = Provenance(dataset=data.irmas_name, profile=P.name)
NOTEBOOK = "21_augmentations"
plotting.use_style()

# The first flute training clip by file name: a clear pitch makes the pitch shift visible.
path = data.train[data.train["instrument"] == "flu"].sort_values("path")["path"].iloc[0]
clip, _ = load(path, sr=SR, mono=True)
x = torch.from_numpy(clip).unsqueeze(0)  # a batch of one
mel = MelImageInput(data.mean, data.std, SR, F.n_fft, HOP, n_mels=F.n_mels)
print(f"{data.irmas_name} clip {os.path.basename(path)}: {len(clip) / SR:.2f} s; "
      f"training waveform mean {data.mean:.3g}, std {data.std:.3g}")


# %% [markdown]
# Each figure shows the waveform and the mel spectrogram (256 bands, dB relative to the clip's
# maximum, exactly the representation the ResNet's image is made from) before and after.


# %%
def before_after(after: torch.Tensor, number: str, slug: str, caption: str, waveform: bool = True,
                 spec_before=None, spec_after=None):
    """Waveform (optional) and mel spectrogram of the clip and its augmented version; saved and shown."""
    spec_before = mel.spectrogram(x)[0].numpy() if spec_before is None else spec_before
    spec_after = mel.spectrogram(after)[0].numpy() if spec_after is None else spec_after
    rows = 2 if waveform else 1
    fig, axes = plotting.subplots(rows, 2, figsize=(11, 3.2 * rows), squeeze=False)
    for col, (wave, spec, name) in enumerate(((x, spec_before, "original"), (after, spec_after, "augmented"))):
        if waveform:
            plotting.waveform_panel(axes[0, col], wave[0].numpy(), SR, title=f"{name}: waveform")
            axes[0, col].set_ylim(-1.05 * float(x.abs().max()), 1.05 * float(x.abs().max()))
        plotting.spectrogram_panel(axes[-1, col], spec, SR, HOP, y_axis="mel", title=f"{name}: mel spectrogram")
    fig.suptitle(f"Figure {number}: {caption}")
    save_figure(fig, number, slug, caption, PROV, NOTEBOOK)
    plt.show()


def players(after: torch.Tensor):
    print("original / augmented:")
    display(Audio(x[0].numpy(), rate=SR), Audio(after[0].numpy(), rate=SR))


# %% [markdown]
# ## 3.4.1 Audio augmentations
#
# **Noise injection.** $\text{augmented} = \text{original} + \alpha \cdot \text{noise}$, the noise drawn
# from a Gaussian with the *training set's* waveform mean and standard deviation, so its level is tied
# to how loud the data are. The figure uses α = 0.1 to make the effect visible; training uses
# α = 0.005. The waveform barely changes, the spectrogram does: noise fills the quiet time-frequency
# cells, which sit far below the instrument's partials on a dB scale.

# %%
generator = torch.Generator().manual_seed(P.seed)
noisy = add_noise(x, data.mean, data.std, alpha=0.1, generator=generator)
before_after(noisy, "3.1", "noise_injection", "Example of the effect of noise injection, alpha=0.1")
players(noisy)

# %% [markdown]
# **Pitch shift** by $n$ semitones multiplies every frequency by $r = 2^{n/12}$ and keeps the
# duration. librosa (and this torch version) first stretch time by $r$ with a phase vocoder (longer,
# same pitch), then resample by $1/r$ (back to the original length, every frequency times $r$).
# Training draws $n \sim U[-6, 6]$ (rounded to half semitones so a batch shares resampling
# filters); the figure shifts up by 6 semitones, a tritone: every partial moves up by a factor
# $\sqrt 2$, visible as the harmonic lines rising in the spectrogram.

# %%
shifted = pitch_shift(x, torch.tensor([6.0]))
before_after(shifted, "3.2", "pitch_shift", "Example of the effect of pitch shift up by 6 semitones")
players(shifted)

# %% [markdown]
# **Time shift** rolls the clip circularly by a fraction $s \sim U[-0.4, 0.4]$ of its length: shifted
# forwards by 40 %, it starts at the original's 40 % mark and its last 40 % is the original's
# beginning. Nothing is lost and the duration is unchanged; the model must not rely on *where* in the
# window a note starts.

# %%
rolled = time_shift(x, torch.tensor([0.4]))
before_after(rolled, "3.3", "time_shift", "Example of the effect of time shift up 40% of original length forwards")
players(rolled)

# %% [markdown]
# ## 3.4.2 Spectrogram augmentations (SpecAugment)
#
# A mask replaces a band of consecutive mel channels (frequency mask) or frames (time mask) with the
# spectrogram's mean, so no "foreign" value (like a 0 dB stripe) enters the image. Each mask covers
# $P \sim U[0, 10]\,\%$ of its axis at a uniformly drawn position; two of each are used, so at most 20 %
# and on average 10 % of each axis is masked. They act on the spectrogram, not the audio, so only
# the spectrogram is shown and the audio is unchanged.

# %%
spec = mel.spectrogram(x)
masks = {
    "3.4": ("frequency_masking", "Example of the effect of frequency masking augmentation using two frequency masks",
            SpecAugment(n_freq_masks=2, n_time_masks=0)),
    "3.5": ("time_masking", "Example of the effect of time masking augmentation using two time masks",
            SpecAugment(n_freq_masks=0, n_time_masks=2)),
    "3.6": ("time_frequency_masking", "Example of the combined effect of time and frequency masking augmentation "
            "using two time and frequency masks", SpecAugment(n_freq_masks=2, n_time_masks=2)),
}
for number, (slug, caption, augment) in masks.items():
    masked = augment(spec, torch.Generator().manual_seed(P.seed + 1))
    share = (masked == spec.mean()).float().mean().item()
    print(f"Fig. {number}: {share:.1%} of the spectrogram's cells masked")
    before_after(x, number, slug, caption, waveform=False, spec_before=spec[0].numpy(), spec_after=masked[0].numpy())

# %% [markdown]
# ## Which model gets what, and in which order
#
# Audio augmentations come first (pitch shift, time shift, then noise, so the pitch shifter does
# not alter the noise's level), then the model input is computed, then the spectrogram
# augmentations. As in the report the ResNet's mel image gets both groups; the raw-audio CNN, the
# MFCC CNN and the general-features CNN get the audio augmentations only. (The report does not say
# whether AST's fbank was masked; `SpecAugment` accepts it transposed, and the AST notebook decides.)

# %%
# NBVAL_CHECK_OUTPUT
print(pd.DataFrame({
    "model input": ["raw audio", "MFCC", "general features", "mel image (ResNet)", "AST fbank"],
    "audio augmentations": ["yes", "yes", "yes", "yes", "yes"],
    "spectrogram masks": ["no", "no", "no", "yes", "optional (not stated in the report)"],
}).to_string(index=False))

# %% [markdown]
# On a batch, everything runs at once on the batch's device. One training step's worth of
# augmentation for the ResNet (1-s windows of the profile's training batch size):

# %%
audio_augment = AudioAugment(data.mean, data.std)  # alpha 0.005, +-6 semitones, +-40 % shift
spec_augment = SpecAugment()
image = MelImageInput(data.mean, data.std, SR, F.n_fft, HOP, P.train.image_mels, P.train.image_size)
windows = torch.from_numpy(np.stack([clip[:SR]] * P.train.batch_size))
generator = torch.Generator().manual_seed(P.seed)
start = time.perf_counter()
batch = image(audio_augment(windows, generator), spec_augment=spec_augment, generator=generator)
seconds = time.perf_counter() - start
print(f"batch of {len(windows)} 1-s windows -> images {tuple(batch.shape)} in {seconds * 1000:.0f} ms "
      f"({len(windows) / seconds:.0f} windows/s on {os.cpu_count()} CPU cores)")

# %% [markdown]
# ## Exercises
# 1. Re-run Fig. 3.1 with α = 0.005 (the training value). Can you still see the noise in the
#    spectrogram? At what α does the flute's fourth harmonic disappear into it?
# 2. Pitch-shift a `gel` clip by +6 and −6 semitones and listen: which direction still sounds like a
#    guitar? What does that suggest about the ±6 range for each class?
# 3. `SpecAugment` fills masks with the spectrogram's mean. Change the fill to the minimum (−80 dB)
#    and look at Fig. 3.6 again: why might such "foreign" stripes hurt training?
