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
# # 11 · Audio and its features: from waveform to spectrogram
#
# **Reproduces:** report sections 2.1-2.2 (audio representation, the Fourier transform and the audio
# features the study uses) and the feature extraction of section 3.1.
# **Writes:** Fig. 2.1 (waveform of a violin clip), 2.2 (a DFT computed from a signal), 2.3 (polynomial
# fits on spectrogram columns), 2.4 (chroma and tonnetz of a `vio` and a `gel` clip), 2.5 (the MFCC
# process and examples), 2.6 (spectrograms of the same two clips), 2.7 (log- vs mel-scaled
# spectrogram) and 2.15 (ZCR and RMS of `vio` vs `gel`).
# **Differs from the report:** the clips come from whichever data set the profile uses; under
# `smoke` and `default` that is **SynthIRMAS**, rendered from SoundFonts, *not* IRMAS, so the pictures
# show the same kind of thing but not the same recordings. The report's Fig. 2.2 is a drawing borrowed
# from a book; ours is computed from a signal. The MFCC process diagram (Fig. 2.5a) is drawn from code.
# Every figure sits next to an audio player: listen to what you see.
#
# All features are computed with librosa and the report's parameters: 44.1 kHz, an FFT window of
# $K = 2048$ samples (46 ms), a hop of 512 samples (11.6 ms), 40 MFCCs and 256 mel bands. The code
# lives in `harmonylib/features.py`, so the training notebooks compute exactly what is shown here.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import librosa
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio, display

from harmonylib import features, plotting
from harmonylib.audio import load
from harmonylib.config import get_profile
from harmonylib.data import prepare
from harmonylib.io import Provenance, save_figure
from harmonylib.labels import CLASS_COLORS, CLASS_NAMES

P = get_profile(profile)
F = P.features
SR, N_FFT, HOP = F.sample_rate, F.n_fft, F.hop_length
data = prepare(P, data_dir)
PROV = Provenance(dataset=data.irmas_name, profile=P.name)
NOTEBOOK = "11_audio_features"
plotting.use_style()


def first_clip(instrument: str):
    """The first training clip (by file name) of one instrument: deterministic, so figures are stable."""
    rows = data.train[data.train["instrument"] == instrument].sort_values("path")
    path = rows["path"].iloc[0]
    y, _ = load(path, sr=SR, mono=True)
    return path, y


vio_path, vio = first_clip("vio")
gel_path, gel = first_clip("gel")
print(f"{data.irmas_name} training clips: vio = {os.path.basename(vio_path)}, gel = {os.path.basename(gel_path)}")

# %% [markdown]
# ## 2.1 Audio representation
#
# Sound is a longitudinal pressure wave; a microphone turns it into a voltage and an analogue-to-digital
# converter samples that voltage $f_s$ times a second. At $f_s = 44\,100$ Hz the highest frequency that
# can be represented is the Nyquist frequency $f_s / 2 = 22\,050$ Hz, just above the limit of human
# hearing (about 20 kHz). Fig. 2.1 is the waveform of a 3-second violin clip: amplitude against time,
# in digital full scale ($\pm 1$).

# %%
fig, ax = plotting.subplots(figsize=(9, 2.8))
plotting.waveform_panel(ax, vio, SR, title=f"{data.irmas_name} training clip, class vio ({CLASS_NAMES['vio']})",
                        color=CLASS_COLORS["vio"])
save_figure(fig, "2.1", "waveform_violin", f"Audio waveform of a violin ({data.irmas_name} training clip).",
            PROV, NOTEBOOK)
plt.show()
display(Audio(vio, rate=SR))

# %% [markdown]
# ### 2.1.1 The discrete Fourier transform
#
# The DFT turns $K$ samples $x_0, \dots, x_{K-1}$ of one frame into $K$ complex numbers, one per
# frequency $f_m = m \, f_s / K$:
#
# $$X_m = \sum_{k=0}^{K-1} x_k \cdot e^{-\frac{2\pi i}{K} \cdot k \cdot m}, \qquad m = 0, \dots, K-1 \tag{2.1}$$
#
# with magnitude $|X_m| = \sqrt{\mathrm{Re}(X_m)^2 + \mathrm{Im}(X_m)^2}$ and phase
# $\phi(X_m) = \tan^{-1} \frac{\mathrm{Im}(X_m)}{\mathrm{Re}(X_m)}$. The FFT (Cooley and Tukey, 1965)
# computes exactly the same numbers in $\mathcal{O}(K \log K)$ instead of $\mathcal{O}(K^2)$. For a real
# signal the second half of the spectrum mirrors the first, so only $m \le K/2$ is shown.
#
# We build a signal whose spectrum we know, a 440 Hz tone (A4) with two weaker harmonics, and check that
# Eq. 2.1 evaluated literally and the FFT agree before plotting it.

# %%
t = np.arange(SR) / SR
partials = {440.0: 1.0, 880.0: 0.5, 1320.0: 0.25}  # Hz: amplitude
tone = sum(a * np.sin(2 * np.pi * f * t) for f, a in partials.items()).astype(np.float32) / 2

frame = tone[:N_FFT]
k = np.arange(N_FFT)
X_eq = np.exp(-2j * np.pi / N_FFT * np.outer(k, k)) @ frame  # Eq. 2.1, literally
X_fft = np.fft.fft(frame)
print(f"largest |Eq. 2.1 - FFT| over all {N_FFT} bins: {np.abs(X_eq - X_fft).max():.1e}")

freqs = np.fft.rfftfreq(N_FFT, d=1 / SR)
windows = {"rectangular (no window)": np.ones(N_FFT), "Hann window (librosa's STFT)": np.hanning(N_FFT)}
fig, (ax_t, ax_f) = plotting.subplots(1, 2, figsize=(10, 3))
ax_t.plot(1000 * k / SR, frame, color="0.25", linewidth=0.8)
ax_t.set(xlabel="time (ms)", ylabel="amplitude (full scale)",
         title=f"time domain: one frame of K = {N_FFT} samples")
for (name, window), color in zip(windows.items(), ("0.6", "tab:blue")):
    magnitude = np.abs(np.fft.rfft(frame * window))
    ax_f.plot(freqs, 20 * np.log10(magnitude / magnitude.max() + 1e-12), color=color, linewidth=0.8, label=name)
for f, a in partials.items():
    ax_f.axvline(f, color="tab:red", linewidth=0.6, linestyle=":")
ax_f.set(xlim=(0, 2000), ylim=(-100, 25), xlabel="frequency (Hz)", ylabel="magnitude (dB re max)",
         title="frequency domain: |DFT|")
ax_f.legend(loc="upper right", fontsize=7, ncol=2)  # above 0 dB, clear of the peaks
save_figure(fig, "2.2", "dft_illustration",
            "Discrete Fourier transform of a synthetic tone (440 Hz + harmonics at 880 and 1320 Hz): one frame "
            "in time (left) and the magnitude of its DFT with and without a Hann window (right, dB); dotted lines "
            "mark the true frequencies. Computed here; the report's figure is a drawing from a textbook.",
            Provenance(dataset="synthetic tone", profile=P.name), NOTEBOOK)
plt.show()
display(Audio(tone, rate=SR))

# %% [markdown]
# The peaks are not single lines, and without a window (grey) energy appears in every bin, tens of dB
# below the peaks but far from them. This *spectral leakage* is not caused by the resolution
# $f_s / K \approx 21.5$ Hz as such: the DFT represents exactly only sinusoids that complete a whole
# number of periods in the frame, i.e. that fall exactly on a bin $f_m = m f_s / K$. 440 Hz falls
# between bins (the cell below computes where), so the frame cuts it mid-period at both ends, and that
# jump spreads its energy over the whole spectrum. Cutting the frame out of the signal is a
# multiplication by a rectangular window, whose spectrum has high, slowly decaying side lobes. A Hann
# window (blue) tapers both ends to zero: its main lobe is twice as wide (a peak covers about four bins
# instead of two), but its side lobes are far lower and fall off fast, so the leakage stays local. That
# is why librosa multiplies every frame by a Hann window. Repeating the DFT on frames hopped by 512
# samples gives the short-time Fourier transform (STFT) and the spectrogram (section 2.2.12).

# %%
# NBVAL_CHECK_OUTPUT
for f in partials:
    print(f"{f:.0f} Hz is bin {f / (SR / N_FFT):.2f} of the {N_FFT}-point DFT "
          f"(bins are {SR / N_FFT:.2f} Hz apart)")
#
# ## 2.2 Audio features
#
# A raw waveform is a poor input for analysis: thousands of numbers per second, none meaningful on its
# own. Features summarise each frame $t$ (of $K$ samples $s(k)$) or each STFT column $m_t(n)$ (the
# magnitude in frequency bin $n$) in a few numbers.
#
# **Zero-crossing rate** (time domain) counts sign changes per frame, high for noise and percussion:
#
# $$ZCR_t = \frac{1}{2} \cdot \sum_{k=t \cdot K}^{(t+1) \cdot K - 1} |\operatorname{sgn}(s(k)) - \operatorname{sgn}(s(k + 1))| \tag{2.2}$$
#
# (librosa divides by $K$, so its ZCR is a rate per sample between 0 and 1).
#
# **Root-mean-square energy** follows perceived loudness:
#
# $$RMSE_t = \sqrt{\frac{1}{K} \cdot \sum_{k=t \cdot K}^{(t+1) \cdot K - 1} s(k)^2} \tag{2.3}$$
#
# **Spectral centroid**, the spectrum's centre of mass, measures *brightness*:
#
# $$SC_t = \frac{\sum_{n=1}^N m_t(n) \cdot n}{\sum_{n=1}^N m_t(n)} \tag{2.4}$$
#
# **Spectral bandwidth**, the spread around the centroid (librosa's default is the second-order
# version, $p = 2$: a standard deviation rather than the mean absolute deviation written here):
#
# $$BW_t = \frac{\sum_{n=1}^N |n - SC_t| \cdot m_t(n)}{\sum_{n=1}^N m_t(n)} \tag{2.5}$$
#
# **Spectral contrast** splits each frame into octave sub-bands (librosa: 6 bands above 200 Hz plus the
# rest, 7 values) and compares the mean energy of the top 2 % (peaks) with the bottom 2 % (valleys), in
# dB: high for clear narrow-band tones, low for broad-band noise.
#
# **Spectral rolloff** is the frequency below which a share $p_r$ (librosa: 85 %) of the frame's energy lies:
#
# $$\arg \min_{f_t \in \{1, \dots, N\}} \sum_{i=1}^{f_t} m_t(i) \geq p_r \cdot \sum_{i=1}^N m_t(i) \tag{2.6}$$
#
# **Spectral flatness** is the geometric over the arithmetic mean of the spectrum, 1 for white noise
# and near 0 for a pure tone (the report says the opposite in its example; the definition is what
# counts: harmonic sounds are *less* flat):
#
# $$SF_t = \frac{\sqrt[N]{\prod_{n=0}^{N-1} m(n)}}{\frac{\sum_{n=0}^{N-1} m(n)}{N}} \tag{2.7}$$
#
# **What about silence?** Eqs. 2.4, 2.5 and 2.7 divide by the frame's energy, which is 0 for digital
# silence. librosa makes them defined, and `harmonylib.features` keeps and tests those values: the
# centroid, bandwidth and rolloff of silence are 0 Hz, its flatness is 1 (power is floored at
# $10^{-10}$, so a silent spectrum is perfectly flat), its chroma and tonnetz are 0. Clips shorter than
# one FFT window are zero-padded to $K$ samples, and any feature that still came out non-finite would
# raise an `AudioError` instead of leaking a NaN into training:

# %%
# NBVAL_CHECK_OUTPUT
silence = features.reference_features(np.zeros(SR, dtype=np.float32), SR, N_FFT, HOP, n_mfcc=F.n_mfcc)
for name in ("zcr", "rms", "centroid", "bandwidth", "rolloff", "flatness"):
    print(f"{name:>9} of 1 s of silence: {float(silence[name].mean()):.4f}")
blip = features.general_features(np.ones(100, dtype=np.float32), SR, N_FFT, HOP)
print(f"a 100-sample clip gives a {blip.shape[0]} x {blip.shape[1]} general-features matrix, "
      f"all finite: {bool(np.isfinite(blip).all())}")

# %% [markdown]
# ### 2.2.8 Polynomial features
#
# Fitting a polynomial of order $n$ to each STFT column (magnitude against frequency in Hz) and keeping
# its $n + 1$ coefficients summarises the column's overall shape: order 0 is its mean level, order 1
# adds a slope (how fast energy falls with frequency), order 2 a curvature. Fig. 2.3 shows the
# violin's spectrogram, the fits on its loudest column, and the coefficients over time (after the
# librosa documentation's example, as the report's figure is).
#
# Panel (b) has a logarithmic magnitude axis: the fits are least-squares fits to the *linear* column,
# whose energy sits in a few harmonic peaks, so every fit runs far below the peaks, near the column's
# average level (here between about 0.5 and 3; a log axis cannot show a fit where it dips below zero).
# On a linear axis they would hug zero; on a log axis both the peaks and the fits are visible. That is also what the features report: a polynomial of low order sees the
# column's overall level and tilt, not its harmonics. Panels (c)-(e) keep one colour per coefficient.

# %%
S = features.magnitude_spectrogram(vio, N_FFT, HOP)
freq_hz = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
loudest = int(np.argmax(S.sum(axis=0)))
coefs = {order: librosa.feature.poly_features(S=S, sr=SR, order=order) for order in (0, 1, 2)}

fig = plotting.figure(figsize=(11, 7))
grid = fig.add_gridspec(2, 3)
ax_spec = fig.add_subplot(grid[0, :2])
plotting.spectrogram_panel(ax_spec, librosa.amplitude_to_db(S, ref=np.max), SR, HOP, y_axis="log",
                           title="(a) log-frequency spectrogram, class vio")
ax_spec.axvline(loudest * HOP / SR, color="white", linestyle="--", linewidth=0.8)
ax_col = fig.add_subplot(grid[0, 2])
ax_col.plot(freq_hz, S[:, loudest], color="0.6", linewidth=0.6, label="|STFT| column")
for order, style in zip((0, 1, 2), ("-", "--", ":")):
    ax_col.plot(freq_hz, np.polyval(coefs[order][:, loudest], freq_hz), style, linewidth=1.4, label=f"order {order}")
ax_col.set(xlim=(0, 8000), ylim=(S[:, loudest].max() * 1e-3, S[:, loudest].max() * 2), yscale="log",
           xlabel="frequency (Hz)", ylabel="magnitude (linear units, log axis)",
           title=f"(b) fits on the column at {loudest * HOP / SR:.2f} s")
ax_col.legend(fontsize=7)
times = librosa.frames_to_time(np.arange(S.shape[1]), sr=SR, hop_length=HOP)
names = {0: ["constant"], 1: ["slope (1/Hz)", "constant"], 2: ["curvature (1/Hz²)", "slope (1/Hz)", "constant"]}
colours = {"constant": "C0", "slope (1/Hz)": "C1", "curvature (1/Hz²)": "C2"}  # one colour per coefficient in (c)-(e)
for order in (0, 1, 2):
    ax = fig.add_subplot(grid[1, order])
    for row, name in zip(coefs[order], names[order]):
        ax.plot(times, row / np.abs(row).max(), linewidth=0.9, color=colours[name], label=name)
    ax.set(xlabel="time (s)", ylabel="coefficient / max |coefficient|", title=f"({'cde'[order]}) order {order}")
    ax.legend(fontsize=7)
save_figure(fig, "2.3", "polynomial_features",
            f"0-th, 1-st and 2-nd order polynomial fits on the spectrogram columns of a {data.irmas_name} "
            "vio clip: spectrogram, fits on one column, and the coefficients over time (each row scaled by "
            "its maximum magnitude).", PROV, NOTEBOOK)
plt.show()
display(Audio(vio, rate=SR))

# %% [markdown]
# ### 2.2.9-2.2.10 Chroma and tonnetz
#
# **Chroma** folds the spectrum onto the 12 pitch classes C, C♯, ..., B: every STFT bin's energy is
# assigned to the pitch class of its frequency, whatever the octave, and each frame is scaled so its
# largest class is 1. It shows *which notes* play and is nearly blind to timbre.
# **Tonnetz** (tonal centroid) projects the chroma onto three circles, those of perfect fifths, minor
# thirds and major thirds, each as an (x, y) coordinate: 6 dimensions describing harmony. librosa
# computes it from a constant-Q chroma. Both depend on the notes played, not the instrument playing
# them, which is why the report's ANOVA (notebook 13) expects little of them.

# %%
clips = {"vio": vio, "gel": gel}
clip_features = {code: features.reference_features(y, SR, N_FFT, HOP, n_mfcc=F.n_mfcc) for code, y in clips.items()}
tonnetz_max = max(np.abs(f["tonnetz"]).max() for f in clip_features.values())
fig, axes = plotting.subplots(2, 2, figsize=(11, 6))
for col, (code, f) in enumerate(clip_features.items()):
    plotting.feature_panel(axes[0, col], f["chroma"], SR, HOP, ylabel="pitch class", cbar_label="relative energy",
                           row_names=features.PITCH_CLASSES, cmap="magma",
                           title=f"({'ab'[col]}) chroma, class {code}")
    plotting.feature_panel(axes[1, col], f["tonnetz"], SR, HOP, ylabel="tonnetz dimension",
                           cbar_label="coordinate", row_names=features.TONNETZ_NAMES, vmin=-tonnetz_max, vmax=tonnetz_max,
                           title=f"({'cd'[col]}) tonnetz, class {code}")
save_figure(fig, "2.4", "chroma_tonnetz",
            f"Chroma (top) and tonnetz (bottom) of a vio and a gel {data.irmas_name} training clip "
            "(P5: perfect fifth, m3: minor third, M3: major third).", PROV, NOTEBOOK)
plt.show()
for code, y in clips.items():
    print(code)
    display(Audio(y, rate=SR))

# %% [markdown]
# ### 2.2.11 Mel-frequency cepstral coefficients
#
# MFCCs describe the spectral *envelope*, the timbre, in a few numbers per frame: the power spectrum is
# pooled by triangular filters spaced evenly on the mel scale, which follows perceived pitch; the
# energies are taken in dB; and a discrete cosine transform (DCT) decorrelates them. librosa's (and
# our) mel scale is Slaney's (Auditory Toolbox, 1998): linear below 1 kHz and logarithmic above,
#
# $$\mathrm{mel}(f) = \begin{cases} 3 f / 200 & f < 1000 \text{ Hz} \\
# 15 + 27 \ln(f / 1000) / \ln 6.4 & f \ge 1000 \text{ Hz,} \end{cases}$$
#
# not the HTK formula $2595 \log_{10}(1 + f / 700)$ often quoted (`librosa.mel_frequencies(htk=True)`);
# both bend at about 1 kHz, but their band edges differ. The first coefficients capture
# the broad shape (coefficient 0 is the overall level), higher ones finer detail. The report uses 40
# coefficients (section 3.1.1).
#
# Coefficient 0 is proportional to the sum of all the log mel energies: hundreds of dB-units below zero
# for a clip quieter than full scale, several times the size of the others. Drawn with them, it takes
# the whole colour scale and the other rows fade to one colour, so Fig. 2.5 leaves it out (its average is
# printed below) and draws both clips on *one* colour scale, so that their colours can be compared.
# Coefficient 1, the spectrum's overall tilt, is the next largest; the scale is clipped (arrows on the
# colour bar) so that it does not wash out the finer coefficients in turn.

# %%
fig = plotting.figure(figsize=(11, 5.5))
grid = fig.add_gridspec(2, 2, height_ratios=[0.25, 1])
ax_flow = fig.add_subplot(grid[0, :])
steps = ["waveform\n44.1 kHz", f"frames\n{N_FFT} samples,\nHann window", "|DFT|²\n(power spectrum)",
         "mel filter bank\n(128 bands,\nlibrosa default)",
         "log\n(dB)", "DCT", f"MFCC\n({F.n_mfcc} per frame)"]
for i, text in enumerate(steps):
    ax_flow.annotate(text, xy=(i, 0), ha="center", va="center", fontsize=8,
                     bbox={"boxstyle": "round,pad=0.4", "facecolor": "0.93", "edgecolor": "0.4"})
    if i:
        ax_flow.annotate("", xy=(i - 0.42, 0), xytext=(i - 0.58, 0), arrowprops={"arrowstyle": "->", "color": "0.3"})
ax_flow.set(xlim=(-0.6, len(steps) - 0.4), ylim=(-1, 1), title="(a) computing MFCCs")
ax_flow.axis("off")
# one colour scale for both clips, without coefficient 0, clipped at the 99th percentile of |coefficient|
mfcc_limit = np.percentile(np.abs(np.concatenate([f["mfcc"][1:].ravel() for f in clip_features.values()])), 99)
for col, (code, f) in enumerate(clip_features.items()):
    plotting.feature_panel(fig.add_subplot(grid[1, col]), f["mfcc"][1:], SR, HOP, ylabel="MFCC index",
                           cbar_label="coefficient (dB-scaled)", first_row=1, vmin=-mfcc_limit, vmax=mfcc_limit,
                           cbar_extend="both", title=f"({'bc'[col]}) MFCCs 1-{F.n_mfcc - 1}, class {code}")
save_figure(fig, "2.5", "mfcc",
            f"The MFCC process (drawn from the steps of librosa.feature.mfcc) and MFCCs 1-{F.n_mfcc - 1} of the "
            f"vio and gel {data.irmas_name} clips on one colour scale (clipped at ±{mfcc_limit:.0f}, the 99th "
            "percentile of their magnitudes); coefficient 0, the overall level, is left out.", PROV, NOTEBOOK)
plt.show()
for code, f in clip_features.items():
    print(f"{code}: coefficient 0 (overall level) {f['mfcc'][0].mean():.0f} on average; "
          f"coefficients 1-{F.n_mfcc - 1} within ±{np.abs(f['mfcc'][1:]).max():.0f}")
for code, y in clips.items():
    print(code)
    display(Audio(y, rate=SR))

# %% [markdown]
# ### 2.2.12 Spectrograms
#
# Stacking the magnitudes of the STFT frames side by side, in dB, gives the spectrogram. On a
# logarithmic frequency axis octaves are equally tall, as we hear them. Listen for the difference the
# report describes: the violin's notes are horizontal lines (a fundamental and its overtones held
# over time), the electric guitar's strums vertical stripes (broadband attacks repeating).

# %%
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.8))
for ax, (code, y), letter in zip(axes, clips.items(), "ab"):
    plotting.spectrogram_panel(ax, features.log_spectrogram(y, N_FFT, HOP), SR, HOP, y_axis="log",
                               title=f"({letter}) class {code}")
save_figure(fig, "2.6", "spectrograms",
            f"Log-frequency power spectrograms (dB re maximum) of the vio and gel {data.irmas_name} training "
            f"clips (n_fft {N_FFT}, hop {HOP}).", PROV, NOTEBOOK)
plt.show()
for code, y in clips.items():
    print(code)
    display(Audio(y, rate=SR))

# %% [markdown]
# The **mel spectrogram** pools the $1 + K/2 = 1025$ STFT bins into (here) 256 triangular mel bands.
# Below about 1 kHz the mel scale is linear, above it logarithmic, so the low bands are narrow and the
# high ones wide. Compare the two panels of Fig. 2.7: on the log-frequency axis the lowest octaves
# hold only a handful of 21.5-Hz FFT bins, drawn as broad blocks (below 128 Hz there are six), while
# the octave from 8 to 16 kHz, nearly 400 bins, is squeezed into the same height. The mel image is not
# blurred; it spends its rows more evenly, so the partials of the violin stand out from bottom to top.
# What it gives up is the detail *between* high partials, where one band pools many bins. That
# compression is the point: 256 rows instead of 1025, weighted like our hearing.
#
# Can a band be narrower than a bin? The report's 256 bands are a dense bank. A triangle narrower than
# the spacing of the FFT bins can fall between two of them and stay empty: a row that is always silent
# (librosa warns when it builds such a bank). The cell below shows that at the report's settings (2048
# points at 44.1 kHz) no band is empty, and that with half the FFT size the lowest ones would be.

# %%
# NBVAL_CHECK_OUTPUT
import warnings

for n_fft in (N_FFT, N_FFT // 2):
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        bank = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=F.n_mels)
    edges = librosa.mel_frequencies(F.n_mels + 2, fmax=SR / 2)
    print(f"{F.n_mels} mel bands on a {n_fft}-point FFT: lowest band {edges[2] - edges[0]:.1f} Hz wide, "
          f"bins {SR / n_fft:.1f} Hz apart, {int((bank.max(axis=1) == 0).sum())} empty bands"
          + (" (librosa warned)" if warned else ""))

# %%
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.8))
plotting.spectrogram_panel(axes[0], features.log_spectrogram(vio, N_FFT, HOP), SR, HOP, y_axis="log",
                           title="(a) log-frequency STFT spectrogram (1025 bins)")
plotting.spectrogram_panel(axes[1], features.mel_spectrogram(vio, SR, N_FFT, HOP, n_mels=F.n_mels), SR, HOP,
                           y_axis="mel", title=f"(b) mel spectrogram ({F.n_mels} bands)")
save_figure(fig, "2.7", "log_vs_mel_spectrogram",
            f"Log- vs mel-scaled power spectrogram (dB re maximum) of the {data.irmas_name} vio clip.", PROV,
            NOTEBOOK)
plt.show()
display(Audio(vio, rate=SR))

# %% [markdown]
# ### ZCR and RMS of two instruments (report Fig. 2.15)
#
# Report section 2.5 doubts the equal-variance assumption of the ANOVA because frame-level ZCR and
# RMS vary more for some instruments than for others. Here are both features over time for the two
# clips, with each clip's standard deviation over its frames.

# %%
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.4))
for code, f in clip_features.items():
    times = librosa.frames_to_time(np.arange(f["zcr"].shape[1]), sr=SR, hop_length=HOP)
    for ax, name in zip(axes, ("zcr", "rms")):
        series = f[name][0]
        ax.plot(times, series, color=CLASS_COLORS[code], linewidth=1.1, label=f"{code} (std {series.std():.3g})")
axes[0].set(xlabel="time (s)", ylabel="zero crossings per sample", title="(a) zero-crossing rate")
axes[1].set(xlabel="time (s)", ylabel="RMS (full scale)", title="(b) root-mean-square energy")
for ax in axes:
    ax.set_ylim(0, 1.3 * ax.get_ylim()[1])  # room above the curves for the legend
    ax.legend(fontsize=8, loc="upper right", ncol=2)
save_figure(fig, "2.15", "zcr_rms",
            f"Zero-crossing rate and root-mean-square energy of the vio and gel {data.irmas_name} clips "
            f"(frames of {N_FFT} samples, hop {HOP}).", PROV, NOTEBOOK)
plt.show()
for code, y in clips.items():
    print(code)
    display(Audio(y, rate=SR))

# %% [markdown]
# ## The general-features matrix (report 3.1.3)
#
# One of the study's models reads a 40-row matrix stacking ten of these features frame by frame, each
# with librosa's defaults: 13 MFCCs, 12 chroma, ZCR, centroid, RMS, 7 contrast bands, bandwidth,
# rolloff, flatness and the 2 coefficients of an order-1 polynomial fit. (The report calls 13 librosa's
# default number of MFCCs; librosa's default is 20, but only 13 make the 40 rows the report states.)
# The rows are wildly differently scaled (centroid and rolloff in Hz, ZCR below 1). The original code
# fed them to the network as they were, a flaw the model-input code of this study must not repeat.

# %%
# NBVAL_CHECK_OUTPUT
general = features.general_features(vio, SR, N_FFT, HOP)
print(f"shape for a {len(vio) / SR:.0f}-s clip: {general.shape}")
for i in range(0, 40, 8):
    print("  ".join(f"{n:<16}" for n in features.GENERAL_FEATURE_NAMES[i:i + 8]).rstrip())

# %%
scale = np.abs(general).max(axis=1)
for name, value in sorted(zip(features.GENERAL_FEATURE_NAMES, scale), key=lambda item: -item[1])[:5]:
    print(f"largest magnitude: {name:<12} {value:,.1f}")

# %% [markdown]
# ## Exercises
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · Brightness after a low-pass.** Low-pass the violin clip by resampling it to 16 kHz and back to
# 44.1 kHz (`librosa.resample`), and recompute its spectral centroid and rolloff (time-means over frames).
# By how much do they drop, and why does report section 2.2.3 warn about this?
# *You should find:* the centroid falls by roughly a quarter to a third (about 3.0 to 2.2 kHz on the
# default profile's violin clip) and the 85 % rolloff by roughly a quarter (about 5.3 to 4.0 kHz),
# although the violin plays the same notes.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** Resampling to 16 kHz keeps only what lies below its Nyquist frequency, 8 kHz: the
# anti-aliasing filter removes the violin's upper partials and its bow noise. Eq. 2.4 weights every bin
# by its frequency, so removing the highest bins pulls the centre of mass down, by far more than their
# share of the energy would suggest; the rolloff (Eq. 2.6) falls because 85 % of a smaller total is
# reached at a lower bin. Measured on SynthIRMAS at the default profile, the centroid falls from 3.0 to
# 2.2 kHz (29 %) and the rolloff from 5.3 to 4.0 kHz (24 %). That is the report's warning: a feature
# meant to describe the instrument's *brightness* also describes the recording chain. Data recorded or
# uploaded at lower bandwidth (AudioSet's YouTube clips; SynthAudioSet imitates their band limits,
# notebook 10) shift these features for every instrument alike, and a model trained at 44.1 kHz
# meets a domain shift it did not learn (chapter 5.5). The AST, which reads 16 kHz audio (report 4.5),
# never sees above 8 kHz at all.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
lowpassed = librosa.resample(librosa.resample(vio, orig_sr=SR, target_sr=16000), orig_sr=16000, target_sr=SR)
brightness = {name: (librosa.feature.spectral_centroid(y=signal, sr=SR, n_fft=N_FFT, hop_length=HOP).mean(),
                     librosa.feature.spectral_rolloff(y=signal, sr=SR, n_fft=N_FFT, hop_length=HOP).mean())
              for name, signal in (("44.1 kHz (original)", vio), ("through 16 kHz", lowpassed))}
(centroid0, rolloff0), (centroid1, rolloff1) = brightness.values()
for name, (centroid, rolloff) in brightness.items():
    print(f"vio clip, {name:>19}: centroid {centroid:5.0f} Hz, rolloff {rolloff:5.0f} Hz")
print(f"change: centroid {centroid1 / centroid0 - 1:+.0%}, rolloff {rolloff1 / rolloff0 - 1:+.0%}")

# %% [markdown]
# **2 · How flat is flat?** Compute the spectral flatness (Eq. 2.7, `librosa.feature.spectral_flatness`,
# time-mean) of one second of white noise (seeded), of the 440 Hz tone above, and of the `gel` and `vio`
# clips. Which ordering does Eq. 2.7 predict, and does the report's example sentence in 2.2.7 ("harmonic
# sounds, such as those produced by string instruments, tend to have a higher SF value") agree?
# *You should find:* white noise about 0.56, the tone, the guitar and the violin all below 0.001 (the tone
# lowest): noise is flattest, harmonic sounds are *less* flat, the opposite of the report's sentence.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** Eq. 2.7 divides the geometric mean of the spectrum by its arithmetic mean. The two are
# equal only when every bin holds the same value, and a few strong peaks over near-empty bins (a tone, the
# partials of a string) make the geometric mean collapse while the arithmetic mean stays up: flatness near 0.
# So harmonic sounds are the *least* flat, and the report's example has the direction backwards (the
# definition is what counts). Why is white noise not at 1? Its spectrum is flat only on average: in each
# frame the power of every bin is random, exponentially distributed, and the geometric mean of an
# exponential variable is $e^{-\gamma} \approx 0.561$ times its mean ($\gamma$ the Euler-Mascheroni
# constant). Measured on SynthIRMAS at the default profile: noise 0.56, violin 0.0009, guitar 0.00003,
# tone 0.000003. The guitar's and violin's values are tiny but far above the tone's: between their
# partials lie accompaniment, reverberation and bow or pick noise.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
noise = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
flatness = {name: float(librosa.feature.spectral_flatness(y=signal, n_fft=N_FFT, hop_length=HOP).mean())
            for name, signal in (("white noise", noise), ("vio clip", vio), ("gel clip", gel), ("440 Hz tone", tone))}
for name, value in sorted(flatness.items(), key=lambda item: -item[1]):
    print(f"{name:>12}: spectral flatness {value:.2g}")
print(f"exp(-Euler's gamma) = {np.exp(-np.euler_gamma):.3f}, the expected flatness of white noise")

# %% [markdown]
# **3 · Fewer mel bands.** Change `n_mels` from 256 to 64 in Fig. 2.7's mel spectrogram (the size the
# `default` profile gives ResNet-50, notebook 20). What disappears first? Estimate the violin's pitch
# $f_0$ (`librosa.yin`) and count its harmonics that still get a mel band narrower than $f_0$, i.e. that
# stay apart from their neighbours; do the same for the first `cel` clip. Would you expect a classifier to
# care?
# *You should find:* the low bands widen from 31 to 123 Hz; on the default profile's clips the violin keeps
# about its first 7 harmonics apart with 64 bands (about 31 with 256), while the cello (a low note near
# 80 Hz) keeps none: its harmonics merge into an envelope.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** Below 1 kHz the mel scale is linear, so the low bands all have the same width, the full
# range divided among fewer bands: four times fewer bands are four times wider (31 to 123 Hz); above 1 kHz
# they widen in proportion to frequency. Harmonics of a note are $f_0$ apart, so a band wider than $f_0$
# pools two or more of them and the harmonic *comb* turns into a smooth envelope. High notes lose their
# upper harmonics first; low notes lose everything: measured on SynthIRMAS at the default profile, the
# violin clip's $f_0$ of about 655 Hz keeps 7 harmonics apart with 64 bands and 31 with 256, the cello
# clip's 78 Hz keeps none with 64 bands (31 with 256). What survives is the envelope, which is what
# MFCCs summarise, and that carries much of the timbre, so a classifier still has something to learn from.
# What it loses are the cues that live in individual partials: the clarinet's weak even harmonics, the
# slight inharmonicity of piano strings, the vibrato of a violin's upper partials, and the pitch of low
# instruments. Expect the low and the harmonic-rich classes (cello, clarinet, piano) to suffer first;
# whether they do on the default profile's ResNet-50, which reads exactly such a 64-band image, is a
# question for the training notebooks, not one this picture can settle.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
def harmonics_apart(y: np.ndarray, n_mels: int, fmin: float) -> tuple[float, int, int]:
    """(f0, harmonics whose mel band is narrower than f0, harmonics below Nyquist) of one clip."""
    f0 = float(np.nanmedian(librosa.yin(y, fmin=fmin, fmax=2000, sr=SR, frame_length=N_FFT, hop_length=HOP)))
    edges = librosa.mel_frequencies(n_mels + 2, fmax=SR / 2)
    harmonics = f0 * np.arange(1, int(SR / 2 // f0) + 1)
    apart = np.interp(harmonics, edges[1:-1], edges[2:] - edges[:-2]) < f0
    return f0, int(apart.argmin() if not apart.all() else len(apart)), len(apart)


notes = {"vio": (vio, 150.0)}
if (data.train["instrument"] == "cel").any():
    notes["cel"] = (first_clip("cel")[1], 50.0)
for n_mels in (F.n_mels, 64):
    edges = librosa.mel_frequencies(n_mels + 2, fmax=SR / 2)
    counts = []
    for code, (y, fmin) in notes.items():
        f0, apart, total = harmonics_apart(y, n_mels, fmin)
        counts.append(f"{code} (f0 {f0:.0f} Hz): first {apart} of {total} harmonics apart")
    print(f"{n_mels} mel bands: lowest band {edges[2] - edges[0]:.0f} Hz wide; " + "; ".join(counts))
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.8))
for ax, n_mels in zip(axes, (F.n_mels, 64)):
    plotting.spectrogram_panel(ax, features.mel_spectrogram(vio, SR, N_FFT, HOP, n_mels=n_mels), SR, HOP,
                               y_axis="mel", title=f"vio clip, {n_mels} mel bands")
plt.show()
