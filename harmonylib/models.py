"""The five models of report chapter 4, built by name (notebooks 30-35).

``build_model(name)`` returns a ``torch.nn.Module`` that maps a batch of model inputs to 11 logits:

========================  ==========================  ====================================
name                      input (one 1-s window)      paper parameter count (11 classes)
========================  ==========================  ====================================
``raw_cnn``               (B, 1, 44100) waveform      180,427
``mfcc_cnn``              (B, 1, 40, 256) MFCC        879,275
``features_cnn``          (B, 40, 87) features        114,859
``resnet50``              (B, 3, 256, 256) mel image  23,530,571 (timm, ImageNet-1k weights)
``ast``                   (B, 100, 128) fbank         85,349,387 (1 s); 86,197,259 (10 s)
========================  ==========================  ====================================

Every model carries ``harmony_weights``: a sentence saying where its initial weights came from
(pretrained checkpoint and file, or *random init* and why). Run records and every figure's
``Provenance(weights=...)`` use it, so a randomly initialised ResNet-50 is never called pretrained.

Pretrained weights are read only from local files (no network): the Hugging Face / timm cache,
the torch hub cache, or ``weights=PATH`` (a file or a directory holding ``model.safetensors`` /
``pytorch_model.bin``). Files are read with safetensors or ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .errors import ConfigError, HarmonyError
from .labels import NUM_CLASSES

MODEL_NAMES = ("raw_cnn", "mfcc_cnn", "features_cnn", "resnet50", "ast")

DISPLAY_NAMES = {
    "raw_cnn": "Raw audio 1-D CNN",
    "mfcc_cnn": "MFCC 2-D CNN",
    "features_cnn": "Audio features 1-D CNN",
    "resnet50": "ResNet-50",
    "ast": "AST",
}

# The checkpoints the paper fine-tuned, and where they may already sit in a local cache.
AST_CHECKPOINT = "MIT/ast-finetuned-audioset-10-10-0.4593"
RESNET_CHECKPOINT = "timm/resnet50.tv_in1k"
_TORCHVISION_FILE = "resnet50-0676ba61.pth"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ConvBlocks(nn.Module):
    """Blocks of convolution, ReLU, batch norm and max pooling, then global average pooling and the MLP head.

    ``order`` is the layer order inside a block, as in the original code: the raw-audio and
    features CNNs use conv→ReLU→BN→pool, the MFCC CNN conv→BN→ReLU→pool (as the original code).
    """

    def __init__(self, dims: int, channels: list[int], kernels: list, strides: list[int], pool: int,
                 num_classes: int, order: str, hidden: int = 64, dropout: float = 0.2):
        super().__init__()
        conv, norm, maxpool, avgpool = {
            1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d),
            2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d),
        }[dims]
        layers = []
        for c_in, c_out, kernel, stride in zip(channels[:-1], channels[1:], kernels, strides):
            block = {"conv": conv(c_in, c_out, kernel, stride=stride), "relu": nn.ReLU(), "bn": norm(c_out)}
            layers += [block[part] for part in order.split("-")] + [maxpool(pool)]
        self.features = nn.Sequential(*layers)
        self.pool = avgpool(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels[-1], hidden), nn.Dropout(dropout), nn.ReLU(),
                                  nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


class RawAudioCNN(ConvBlocks):
    """Report 4.1 / Table 4.2: six 1-D blocks on the waveform, first kernel 440 samples (10 ms at 44.1 kHz)."""

    def __init__(self, num_classes: int = NUM_CLASSES, first_kernel: int = 440):
        super().__init__(1, [1, 32, 32, 64, 64, 128, 256], [first_kernel, 6, 3, 3, 3, 3], [2, 1, 1, 1, 1, 1],
                         pool=4, num_classes=num_classes, order="conv-relu-bn")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x if x.dim() == 3 else x.unsqueeze(1))


class MFCCCNN(ConvBlocks):
    """Report 4.2 / Figure 4.2: four 2-D blocks on a 1×40×256 MFCC image.

    Each block shortens the image's height by its kernel's height minus one and then halves it
    (40 → 37 → 18 → 17 → 8 → 7 → 3 → 2 → 1), so the image needs at least :attr:`min_rows` rows
    (used by notebook 31's exercise on 13 MFCCs).
    """

    min_rows = 33  # the last block needs 2 rows for its 2-row kernel and 2x2 pooling: 2 <- 3 <- 6 <- 7 <- 14 <- 15 <- 30 <- 33

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__(2, [1, 32, 64, 128, 256], [(4, 4), (2, 10), (2, 10), (2, 10)], [1, 1, 1, 1],
                         pool=2, num_classes=num_classes, order="conv-bn-relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if x.dim() == 4 else x.unsqueeze(1)
        if x.shape[-2] < self.min_rows:
            raise ConfigError(f"the MFCC CNN needs an image of at least {self.min_rows} rows, got {x.shape[-2]}: "
                              "its four blocks of convolution and 2x2 pooling would shrink fewer rows to "
                              "nothing; resize the coefficients to more rows (MFCCInput(..., height=40))")
        return super().forward(x)


class FeaturesCNN(ConvBlocks):
    """Report 4.3 / Figure 4.3: four 1-D blocks, each of the 40 feature rows (87 frames) one input channel."""

    def __init__(self, num_classes: int = NUM_CLASSES, in_channels: int = 40):
        super().__init__(1, [in_channels, 32, 64, 128, 256], [8, 2, 2, 2], [1, 1, 1, 1],
                         pool=2, num_classes=num_classes, order="conv-relu-bn")


class ResNet50Classifier(nn.Module):
    """Report 4.4: timm's ResNet-50 without its ImageNet head, then Dropout(0.2) and Linear(2048→classes)."""

    def __init__(self, num_classes: int = NUM_CLASSES, in_chans: int = 3):
        super().__init__()
        import timm

        self.backbone = timm.create_model("resnet50", pretrained=False, num_classes=0, in_chans=in_chans)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(self.backbone.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.backbone(x)))


class ASTClassifier(nn.Module):
    """Report 4.5: Hugging Face's ``ASTForAudioClassification``; input (B, frames, 128 mel bins), output logits."""

    classifier_prefix = "ast.classifier."

    def __init__(self, num_classes: int = NUM_CLASSES, max_length: int = 100, num_hidden_layers: int = 12,
                 hidden_size: int = 768, num_mel_bins: int = 128):
        super().__init__()
        from transformers import ASTConfig, ASTForAudioClassification

        # The values of MIT/ast-finetuned-audioset-10-10-0.4593's config.json, written out so that
        # nothing is fetched; depth and width can be scaled down for a CPU.
        config = ASTConfig(
            hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
            num_attention_heads=max(1, hidden_size // 64), intermediate_size=4 * hidden_size,
            hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02,
            layer_norm_eps=1e-12, patch_size=16, qkv_bias=True, frequency_stride=10, time_stride=10,
            max_length=max_length, num_mel_bins=num_mel_bins, num_labels=num_classes,
        )
        self.ast = ASTForAudioClassification(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ast(input_values=x).logits


def build_model(name: str, num_classes: int = NUM_CLASSES, pretrained: bool | None = None,
                weights: str | Path | None = None, **config) -> nn.Module:
    """The model ``name`` of chapter 4 with ``model.harmony_weights`` saying where its weights came from
    and ``model.harmony_pretrained`` whether trained weights were loaded.

    ``pretrained=None`` means the paper's choice (ResNet-50 and AST pretrained, the CNNs not).
    ``weights`` loads a local file or directory instead of searching the caches. Extra keyword
    arguments reach the model's constructor (``in_chans`` for ResNet-50; ``max_length``,
    ``num_hidden_layers``, ``hidden_size`` for AST; ``first_kernel`` for the raw-audio CNN).
    Used by notebooks 30-35.
    """
    builders = {"raw_cnn": RawAudioCNN, "mfcc_cnn": MFCCCNN, "features_cnn": FeaturesCNN,
                "resnet50": ResNet50Classifier, "ast": ASTClassifier}
    if name not in builders:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    try:
        model = builders[name](num_classes=num_classes, **config)
    except TypeError as error:
        raise ConfigError(f"bad configuration for model {name!r}: {error}") from error
    model.harmony_name = name
    model.harmony_config = dict(config, num_classes=num_classes)
    if pretrained is None:
        pretrained = name in ("resnet50", "ast")
    model.harmony_pretrained = weights is not None  # True once trained weights are loaded
    if weights is not None:
        model.harmony_weights = "given checkpoint: " + load_weights(model, weights)
    elif not pretrained:
        model.harmony_weights = "random init" + (" (trained from scratch, as in the paper)"
                                                 if name not in ("resnet50", "ast") else "")
    elif name in ("resnet50", "ast"):
        found = find_pretrained(name)
        what = "ImageNet-1k" if name == "resnet50" else "AudioSet"
        if found is None:
            model.harmony_weights = f"random init ({what} weights not available offline)"
        else:
            model.harmony_weights = f"{what} pretrained: " + load_weights(model, found)
            model.harmony_pretrained = True
    else:
        raise ConfigError(f"no pretrained weights exist for {name!r}: the paper trained it from scratch")
    return model


def count_parameters(model: nn.Module) -> int:
    """All parameters (trainable or not), as Table 4.1 counts them."""
    return sum(p.numel() for p in model.parameters())


def find_pretrained(name: str) -> Path | None:
    """A locally cached checkpoint of the paper's pretrained weights for ``name``, or None. Never downloads."""
    from huggingface_hub import try_to_load_from_cache

    repo = {"resnet50": RESNET_CHECKPOINT, "ast": AST_CHECKPOINT}[name]
    for filename in _WEIGHT_FILES:
        found = try_to_load_from_cache(repo, filename)
        if isinstance(found, str) and os.path.exists(found):
            return Path(found)
    if name == "resnet50":
        candidate = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILE
        if candidate.exists():
            return candidate
    return None


def weights_file(path: str | Path) -> Path:
    """The checkpoint file ``path`` names: itself, or the ``model.safetensors`` / ``pytorch_model.bin`` of a directory."""
    path = Path(path)
    if path.is_dir():
        files = [path / f for f in _WEIGHT_FILES if (path / f).exists()]
        if not files:
            raise HarmonyError(f"no {' or '.join(_WEIGHT_FILES)} in this directory", path)
        path = files[0]
    if not path.exists():
        raise HarmonyError("weights file does not exist", path)
    return path.resolve()


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file or directory; safetensors or ``torch.load(weights_only=True)`` only."""
    path = weights_file(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt file, or a pickle that is not plain tensors
        raise HarmonyError(f"cannot read weights ({type(error).__name__}: {error})", path) from error
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HarmonyError("weights file holds no state dict of tensors", path)
    return state


def load_weights(model: nn.Module, path: str | Path) -> str:
    """Copy the matching tensors of a checkpoint into ``model``; returns a sentence saying what was loaded
    from which file.

    Keys may carry this module's prefix or not (a bare timm or Hugging Face checkpoint loads into the
    ``backbone.`` / ``ast.`` sub-module). A classifier of another size stays freshly initialised.
    A 3-channel first convolution is adapted to ``in_chans`` with timm's ``adapt_input_conv``. AST
    position embeddings of another length (the 1214 of a 10-s checkpoint in a 1-s model) are
    discarded and stay freshly initialised, as in report 4.5.
    """
    from timm.models import adapt_input_conv

    checkpoint = read_state_dict(path)
    if isinstance(model, ASTClassifier):
        checkpoint = _current_hf_names(model.ast, checkpoint)
    own = model.state_dict()
    prefixes = ("", "backbone.", "ast.")
    prefix = max(prefixes, key=lambda p: sum((p + k) in own for k in checkpoint))
    loaded, fresh, adapted = {}, [], []
    for key, target in own.items():
        source = checkpoint.get(key[len(prefix):]) if key.startswith(prefix) else None
        if source is None:
            fresh.append(key)
        elif source.shape == target.shape:
            loaded[key] = source
        elif key.endswith("conv1.weight") and source.dim() == 4 and source.shape[0] == target.shape[0]:
            loaded[key] = adapt_input_conv(target.shape[1], source)
            adapted.append(key)
        else:
            fresh.append(key)
    if not loaded:
        raise HarmonyError(f"no tensor of this checkpoint fits model {getattr(model, 'harmony_name', '?')}", path)
    model.load_state_dict({**own, **loaded})
    model.harmony_fresh = fresh
    note = f"{len(loaded)}/{len(own)} tensors from {weights_file(path)}"
    if adapted:
        note += f"; {', '.join(adapted)} adapted to {model.harmony_config.get('in_chans', 3)} channel(s)"
    if fresh:
        shown = ", ".join(_short(k) for k in fresh[:4]) + (" ..." if len(fresh) > 4 else "")
        note += f"; freshly initialised: {shown}"
    return note


def _current_hf_names(module: nn.Module, checkpoint: dict) -> dict:
    """Rename the keys of a checkpoint saved by an older transformers (``encoder.layer.N.attention.attention.query``
    of the published AST checkpoint) to this version's names, with transformers' own renaming rules."""
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import WeightRenaming

    renamings = [r for r in get_model_conversion_mapping(module) if isinstance(r, WeightRenaming)]
    renamed = {}
    for key, tensor in checkpoint.items():
        for renaming in renamings:
            key = renaming.rename_source_key(key)[0]
        renamed[key] = tensor
    return renamed


def _short(key: str) -> str:
    return key.replace("ast.audio_spectrogram_transformer.", "").replace("backbone.", "")


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Parameters split as the optimisers of Tables 4.3-4.5 need them: AST's classifier apart from its base."""
    prefix = getattr(model, "classifier_prefix", None)
    if prefix is None:
        return {"all": list(model.parameters())}
    groups = {"base": [], "classifier": []}
    for key, parameter in model.named_parameters():
        groups["classifier" if key.startswith(prefix) else "base"].append(parameter)
    return groups


def layer_shapes(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """Input and output shape of every leaf layer for one forward pass of ``example`` (Table 4.2, forward hooks)."""
    rows, hooks = [], []

    def record(name):
        def hook(module, inputs, output):
            rows.append({"layer": name, "type": type(module).__name__,
                         "shape_in": tuple(inputs[0].shape), "shape_out": tuple(output.shape),
                         "kernel": getattr(module, "kernel_size", None), "stride": getattr(module, "stride", None),
                         "parameters": sum(p.numel() for p in module.parameters(recurse=False))})
        return hook

    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return rows
