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

import librosa
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
                 spec_before=None, spec_after=None, mark_s: float | None = None, mark_label: str = ""):
    """Waveform (optional) and mel spectrogram of the clip and its augmented version; saved and shown.
    ``mark_s`` marks that time, labelled ``mark_label``, on the augmented panels."""
    spec_before = mel.spectrogram(x)[0].numpy() if spec_before is None else spec_before
    spec_after = mel.spectrogram(after)[0].numpy() if spec_after is None else spec_after
    rows = 2 if waveform else 1
    fig, axes = plotting.subplots(rows, 2, figsize=(11, 3.2 * rows), squeeze=False)
    for col, (wave, spec, name) in enumerate(((x, spec_before, "original"), (after, spec_after, "augmented"))):
        if waveform:
            plotting.waveform_panel(axes[0, col], wave[0].numpy(), SR, title=f"{name}: waveform")
            axes[0, col].set_ylim(-1.05 * float(x.abs().max()), 1.05 * float(x.abs().max()))
        plotting.spectrogram_panel(axes[-1, col], spec, SR, HOP, y_axis="mel", title=f"{name}: mel spectrogram")
    if mark_s is not None:  # a full line on the waveform, only a tick on the spectrogram, whose click it would hide
        axes[0, 1].axvline(mark_s, color="tab:cyan", linestyle="--", linewidth=1.0)
        axes[-1, 1].axvline(mark_s, ymin=0.93, color="tab:cyan", linewidth=2.0)
        axes[0, 1].annotate(mark_label, xy=(mark_s, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -12),
                            textcoords="offset points", fontsize=8, color="tab:cyan")
    save_figure(fig, number, slug, f"{caption}, on a {data.irmas_name} flu training clip", PROV, NOTEBOOK)
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
#
# The shifted waveform is also quieter. The phase vocoder rebuilds each frame from magnitudes and
# advanced phases; where the partials' phases no longer line up from one frame to the next, the
# overlapping frames partly cancel. librosa's `pitch_shift` loses about as much (printed below), so
# this is the method's, not a fault of the batched version; during training the level varies anyway
# (the noise is scaled to the training set, not to the clip).

# %%
shifted = pitch_shift(x, torch.tensor([6.0]))
before_after(shifted, "3.2", "pitch_shift", "Example of the effect of pitch shift up by 6 semitones")
level = {name: 20 * np.log10(float(np.sqrt(np.mean(np.square(y)))) + 1e-12) for name, y in (
    ("original", x[0].numpy()), ("shifted", shifted[0].numpy()),
    ("librosa", librosa.effects.pitch_shift(x[0].numpy(), sr=SR, n_steps=6)))}
print(f"RMS level change: ours {level['shifted'] - level['original']:+.1f} dB, "
      f"librosa.effects.pitch_shift {level['librosa'] - level['original']:+.1f} dB")
players(shifted)

# %% [markdown]
# **Time shift** rolls the clip circularly by a fraction $s \sim U[-0.4, 0.4]$ of its length: shifted
# forwards by 40 %, it starts at the original's 40 % mark and its last 40 % is the original's
# beginning. No sample is lost and the duration is unchanged; the model must not rely on *where* in the
# window a note starts.
#
# One thing is *added*, though: a splice. Where the original's end now meets its beginning (the dashed
# line and the tick, at 60 % of the clip), the waveform jumps from one value to an unrelated one. A jump is a
# step, and a step has energy at every frequency: the thin vertical line through the whole augmented
# spectrogram, and a click you can hear in the player below. The report's augmentation (a circular
# roll) has the same click, so it is kept here; a short cross-fade across the splice would remove it.
# During training the click is one more transient in a window, at a random place: a small, rarely
# harmful distraction, but not "nothing".

# %%
rolled = time_shift(x, torch.tensor([0.4]))
splice = x.shape[-1] - int(round(0.4 * x.shape[-1]))  # first sample of the original's beginning
before_after(rolled, "3.3", "time_shift", "Example of the effect of time shift up 40% of original length forwards",
             mark_s=splice / SR, mark_label="splice")
print(f"at the splice ({splice / SR:.2f} s) the waveform jumps from {float(rolled[0, splice - 1]):+.3f} to "
      f"{float(rolled[0, splice]):+.3f}; neighbouring samples elsewhere differ by "
      f"{float(x[0].diff().abs().median()):.3f} (median)")
players(rolled)

# %% [markdown]
# ## 3.4.2 Spectrogram augmentations (SpecAugment)
#
# A mask replaces a band of consecutive mel channels (frequency mask) or frames (time mask) with the
# spectrogram's mean. Each mask covers $P \sim U[0, 10]\,\%$ of its axis at a uniformly drawn position;
# two of each are used, so at most 20 % and on average 10 % of each axis is masked. They act on the
# spectrogram, not the audio, so only the spectrogram is shown and the audio is unchanged.
#
# The mean avoids the most foreign value there is (a stripe at 0 dB, the loudest the image can hold),
# but it is still *one* value painted over places that hold very different ones. Look above about
# 8 kHz in Figs. 3.4-3.6: the flute has no energy there, the image sits at its floor of −80 dB, and a
# time mask at the mean is a purple stripe *louder* than what it hides; below, across the harmonics, it
# is quieter. A mask at the mean removes information, as intended, but in silent bands it also adds a
# pattern the clip never had. SpecAugment (Park et al., 2019) masks features normalised to mean 0, so
# there too the fill is the mean; a model learns to ignore such flat stripes, since they carry no label.

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
    print(f"Fig. {number}: {share:.1%} of the spectrogram's cells masked, filled with the mean, "
          f"{spec.mean().item():.0f} dB")
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
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · How much noise is visible?** Add noise with α = 0.005 (the training value) instead of Fig. 3.1's
# 0.1: can you still see it in the mel spectrogram? Count the cells the noise raises by more than 3 dB.
# Then find the α at which the flute's fourth harmonic disappears into the noise: compare the harmonic's
# power in its STFT bin with the power of the noise alone in the same bin (the noise's power grows as α²).
# *You should find:* at α = 0.005 the noise still raises about a quarter of the mel cells by more than 3 dB
# (the quiet ones between and above the partials; about 70 % at α = 0.1), but no harmonic; the fourth
# harmonic (near 1.9 kHz for this clip) reaches the noise's level only at α ≈ 0.8, eight times the
# figure's α and 160 times the training value.
# *Time:* about a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** Two things decide what the noise hides. The image shows 80 dB of range below the clip's
# loudest cell, and many of its cells are quiet: between the partials and above them the flute leaves the
# image near its floor. Even noise at α = 0.005, 46 dB below the training data's own level, is louder than
# those cells, so you can see it as a raised, grainy floor. The harmonics are a different matter. A
# harmonic puts its power into one or two STFT bins, while white noise spreads its power evenly over all
# 1025 bins, so in the harmonic's own bin the noise holds only a thousandth of its power. Since the noise's
# power grows with α², the α at which noise and harmonic are equal in that bin is the square root of their
# power ratio at α = 1. Measured on SynthIRMAS at the default profile for this flute clip (pitch about
# 470 Hz), the fourth harmonic (1.88 kHz) reaches the noise at α ≈ 0.79, the sixth at 0.24 and the
# fundamental only at about 19. At the training α the augmentation therefore changes the background and
# leaves the instrument alone, which is its purpose: recordings differ in their noise floor (rooms,
# microphones, tape), and the model should learn to look past it at the harmonics that name the instrument.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
clean = mel.spectrogram(x)[0]
for alpha in (0.005, 0.1):
    noisy = mel.spectrogram(add_noise(x, data.mean, data.std, alpha, torch.Generator().manual_seed(P.seed)))[0]
    print(f"alpha {alpha}: {((noisy - clean) > 3).float().mean():.0%} of the mel cells are raised by more than 3 dB")
# each harmonic of the flute against the noise in its STFT bin, over the frames where the flute plays loudly
f0 = librosa.yin(clip, fmin=200, fmax=2100, sr=SR, frame_length=F.n_fft, hop_length=HOP)  # the flute's range
level = librosa.feature.rms(y=clip, frame_length=F.n_fft, hop_length=HOP)[0]
clip_power = np.abs(librosa.stft(clip, n_fft=F.n_fft, hop_length=HOP)) ** 2
noise = add_noise(torch.zeros_like(x), data.mean, data.std, 1.0, torch.Generator().manual_seed(P.seed))[0].numpy()
noise_power = np.abs(librosa.stft(noise, n_fft=F.n_fft, hop_length=HOP)) ** 2  # at alpha = 1; it grows as alpha^2
rows = []
for harmonic in range(1, 7):
    bins = np.round(harmonic * f0 * F.n_fft / SR).astype(int)
    frames = np.flatnonzero((level > 0.3 * level.max()) & (bins < clip_power.shape[0]))
    ratio = np.median(clip_power[bins[frames], frames]) / np.median(noise_power[bins[frames], frames])
    rows.append({"harmonic": harmonic, "frequency (Hz)": harmonic * np.median(f0[frames]),
                 "alpha at which the noise reaches it": np.sqrt(ratio)})
harmonics = pd.DataFrame(rows)
print(harmonics.to_string(index=False, float_format="%.3g"))
fourth = float(harmonics.loc[harmonics["harmonic"] == 4, "alpha at which the noise reaches it"].iloc[0])
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.2))
for ax, alpha in zip(axes, (0.005, fourth)):
    noisy = mel.spectrogram(add_noise(x, data.mean, data.std, alpha, torch.Generator().manual_seed(P.seed)))[0]
    plotting.spectrogram_panel(ax, noisy.numpy(), SR, HOP, y_axis="mel", title=f"noise injection, alpha = {alpha:.3g}")
plt.show()

# %% [markdown]
# **2 · What a pitch shift does to a guitar.** Pitch-shift a `gel` clip by +6 and −6 semitones and listen.
# Then measure the spectral centroid (the spectrum's centre of mass, a correlate of brightness) of the
# three versions. Does the shift move only the notes, or the instrument's whole spectrum? Which direction
# still sounds like a guitar to you, and what does that suggest about the ±6 range for each class?
# *You should find:* the centroid rises by a factor of about 1.4 for +6 and falls to about 0.7 times for −6,
# the ratio $2^{\pm 6/12}$ by which every frequency moves: the whole spectrum moves, not only the notes.
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** A real guitar that plays a tritone higher moves its strings' partials, but the body and
# pickups that shape its sound stay the same size, so their resonances stay where they are: that fixed
# envelope is much of what makes a guitar sound like a guitar. A pitch shift by stretching and resampling
# multiplies *every* frequency by $r = 2^{n/12}$, resonances included, as if the instrument had shrunk (+6)
# or grown (−6) by a factor of 1.41. Measured on SynthIRMAS at the default profile for the first `gel`
# training clip, the median centroid goes from 1249 Hz to 1784 Hz (× 1.43) and to 877 Hz (× 0.70). The −6
# shift also takes a guitar's lowest note, E2 (82 Hz, the lowest string in standard tuning), down to 58 Hz,
# into the register of a bass. Which direction you accept is a judgement of your ears, but the measurement says both
# change the timbre by the same ratio. That argues for a range per class: narrow for classes defined by a
# fixed body resonance or that sit next to a class of another size (violin and cello, voice), and for
# directions that keep an instrument inside its range; ±6 for every class is the report's simplification.
# (Where a profile's data hold no `gel` clip, the cell uses the flute clip above.)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
guitars = data.train[data.train["instrument"] == "gel"].sort_values("path")["path"]
guitar = load(guitars.iloc[0], sr=SR, mono=True)[0] if len(guitars) else clip
shifted_pair = pitch_shift(torch.from_numpy(np.stack([guitar, guitar])), torch.tensor([6.0, -6.0]))
versions = {"original": guitar, "+6 semitones": shifted_pair[0].numpy(), "-6 semitones": shifted_pair[1].numpy()}
rows = []
for name, wave in versions.items():
    level = librosa.feature.rms(y=wave, frame_length=F.n_fft, hop_length=HOP)[0]
    centroid = librosa.feature.spectral_centroid(y=wave, sr=SR, n_fft=F.n_fft, hop_length=HOP)[0]
    rows.append({"version": name, "median centroid (Hz)": np.median(centroid[level > 0.3 * level.max()])})
centroids = pd.DataFrame(rows)
centroids["ratio to the original"] = centroids["median centroid (Hz)"] / centroids["median centroid (Hz)"].iloc[0]
print(centroids.to_string(index=False, float_format="%.2f"))
print(f"2 ** (6 / 12) = {2 ** 0.5:.2f}, 2 ** (-6 / 12) = {2 ** -0.5:.2f}; original, +6 and -6 semitones:")
display(*(Audio(wave, rate=SR) for wave in versions.values()))

# %% [markdown]
# **3 · Filling masks with the minimum.** `SpecAugment` fills its masks with the spectrogram's mean. Fill the
# masks of Fig. 3.6 with the minimum (the floor, −80 dB) instead and compare the two images: how far is
# each fill from the cells it hides, how large is the jump at a mask's edge, and what happens to the
# image's mean? Why might such stripes hurt training?
# *You should find:* the minimum differs from the hidden cells about as much as the mean does (about 22 dB
# against 18 dB on average here) and makes slightly larger edges, but it lowers the whole image's mean by
# about 2 dB, where the mean fill changes it by less than 0.1 dB; and its stripes look like silence.
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** Neither fill is invisible: as the text above Fig. 3.4 says, a stripe at the mean is louder
# than the silent bands it crosses and quieter than the harmonics. The difference is in what each stripe
# *says*. The floor is a value real spectrograms hold, in silence: measured on SynthIRMAS at the default
# profile, 23 % of this clip's cells sit there. A time mask at the floor looks exactly like the instrument
# stopping for a moment, a frequency mask like a band in which the instrument has no energy; both are
# statements about the sound, and false ones, that the model can learn to use. A band at the mean is a flat
# stripe found nowhere in natural audio, which a model learns to ignore, since it carries no label. The
# floor also moves the image's statistics with the mask's random size: measured here, the image's mean falls
# from −58.3 dB to −60.6 dB with the minimum but stays at −58.4 dB with the mean, so the batch-norm layers
# see images whose level depends on how much happened to be masked. Only a training run can say how much
# this costs in accuracy; the measurements say why the mean is the safer default (SpecAugment's authors,
# who mask normalised features, also fill with the mean, which is 0 there).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
mean_fill = SpecAugment(n_freq_masks=2, n_time_masks=2)(spec, torch.Generator().manual_seed(P.seed + 1))  # Fig. 3.6
masked = mean_fill != spec
min_fill = torch.where(masked, spec.min(), spec)  # the image's floor, -80 dB


def edge_jump(image: torch.Tensor) -> float:
    """Mean |difference| (dB) between neighbouring cells of which exactly one is masked."""
    jumps = [(image[0, 1:] - image[0, :-1]).abs()[masked[0, 1:] ^ masked[0, :-1]],
             (image[0, :, 1:] - image[0, :, :-1]).abs()[masked[0, :, 1:] ^ masked[0, :, :-1]]]
    return float(torch.cat(jumps).mean())


print(f"{masked.float().mean():.1%} of the cells masked; {(spec <= spec.min() + 0.01).float().mean():.0%} of the "
      "original's cells sit at the floor")
print(pd.DataFrame([{"fill": name, "mean |fill - hidden| (dB)": float((image - spec)[masked].abs().mean()),
                     "jump at the edges (dB)": edge_jump(image), "image mean (dB)": float(image.mean()),
                     "image std (dB)": float(image.std())}
                    for name, image in (("none (original)", spec), ("mean (the study's)", mean_fill),
                                        ("minimum", min_fill))]).to_string(index=False, float_format="%.1f"))
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.2))
for ax, (name, image) in zip(axes, (("the mean", mean_fill), ("the minimum", min_fill))):
    plotting.spectrogram_panel(ax, image[0].numpy(), SR, HOP, y_axis="mel", title=f"masks filled with {name}")
plt.show()
