"""The three models of Section 3: single classifier, paired classifier, JADE.

Shapes follow the paper exactly where it is explicit:

- SVHN encoder: four 3x3 convolutions with {64, 96, 64, 8} filters, each
  followed by ReLU, 2x max-pooling after the first three (32 -> 16 -> 8 -> 4),
  so 8 x 4 x 4 = 128 features.
- MNIST encoder: three 3x3 convolutions with {32, 32, 16} filters, ReLU, 2x
  max-pooling after each (28 -> 14 -> 7 -> 3), so 16 x 3 x 3 = 144 features.
- Bottleneck: a linear map to 10 dimensions (single, paired), or to the
  means and log-variances of a 20-dimensional Gaussian (JADE) whose first 10
  dimensions are the content z2 (SVHN) / z4 (MNIST) and the last 10 the
  style z1 / z3.
- Shared classifier: three blocks Linear(500) - ReLU - Dropout(0.5), then
  Linear(10); the softmax is folded into the cross-entropy.
- JADE decoders mirror the encoders from all 20 latent dimensions, 2x
  nearest-neighbour upsampling in place of each pooling. (MNIST's last
  pooling floors 7 to 3, so its mirror upsamples 3 back to 7.)
"""
from __future__ import annotations

import torch
from torch import nn

LATENT_CONTENT = 10  # dimensions fed to the classifier (z2 / z4)
LATENT_STYLE = 10    # dimensions used only for reconstruction (z1 / z3)
LATENT = LATENT_CONTENT + LATENT_STYLE
# The sizes Section 3 gives (jade_core.science.paper.ARCHITECTURE quotes them; a test keeps the two equal).
KERNEL = 3                         # 3x3 convolutions
POOL = 2                           # 2x max-pooling (2x upsampling in the decoders)
SVHN_FILTERS = (64, 96, 64, 8)     # pooled after the first three
MNIST_FILTERS = (32, 32, 16)       # pooled after each
MLP_BLOCKS, MLP_WIDTH, DROPOUT = 3, 500, 0.5
N_CLASSES = 10


def split_latent(z):
    """``(content, style)`` parts of latents ``z`` (..., 20), tensors or arrays: dims 0..9 are the content
    (z2 for SVHN, z4 for MNIST), read by the shared classifier and matched by Eq. 2's KL; dims 10..19
    the style (z1 / z3), used only for reconstruction."""
    return z[..., :LATENT_CONTENT], z[..., LATENT_CONTENT:]


def conv_stack(in_ch, filters, pool_after):
    layers, c = [], in_ch
    for i, f in enumerate(filters):
        layers += [nn.Conv2d(c, f, KERNEL, padding=KERNEL // 2), nn.ReLU(inplace=True)]
        if i in pool_after:
            layers.append(nn.MaxPool2d(POOL))
        c = f
    return nn.Sequential(*layers)


# Fixed input standardisation (pixels in [0, 1]): MNIST's usual training-set
# statistics; for SVHN round values, so that nothing is estimated from the
# evaluation images (under the local protocol they share a file with the pool).
INPUT_STATS = {"mnist": ((0.1307,), (0.3081,)), "svhn": ((0.45, 0.45, 0.45), (0.2, 0.2, 0.2))}


class Encoder(nn.Module):
    """Input standardisation, CNN feature extractor, linear bottleneck of ``out_dim``."""

    def __init__(self, dataset: str, out_dim: int):
        super().__init__()
        if dataset not in INPUT_STATS:
            raise ValueError(f"unknown dataset {dataset!r}")
        mean, std = INPUT_STATS[dataset]
        # not in the state dict: the standardisation is code, weights files hold parameters only
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        if dataset == "svhn":
            self.features = conv_stack(3, SVHN_FILTERS, pool_after=(0, 1, 2))
            n = 8 * 4 * 4
        elif dataset == "mnist":
            self.features = conv_stack(1, MNIST_FILTERS, pool_after=(0, 1, 2))
            n = 16 * 3 * 3
        self.bottleneck = nn.Linear(n, out_dim)

    def forward(self, x):
        return self.bottleneck(torch.flatten(self.features((x - self.mean) / self.std), 1))


class Decoder(nn.Module):
    """Mirror of an :class:`Encoder`: latent (20) -> image mean / logits."""

    def __init__(self, dataset: str, latent_dim: int = LATENT):
        super().__init__()
        if dataset == "svhn":
            self.shape = (8, 4, 4)
            self.net = nn.Sequential(
                nn.Conv2d(8, 64, 3, padding=1), nn.ReLU(inplace=True), nn.Upsample(scale_factor=2),
                nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(inplace=True), nn.Upsample(scale_factor=2),
                nn.Conv2d(96, 64, 3, padding=1), nn.ReLU(inplace=True), nn.Upsample(scale_factor=2),
                nn.Conv2d(64, 3, 3, padding=1),
            )
        elif dataset == "mnist":
            self.shape = (16, 3, 3)
            self.net = nn.Sequential(
                nn.Upsample(size=(7, 7)),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.Upsample(scale_factor=2),
                nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True), nn.Upsample(scale_factor=2),
                nn.Conv2d(32, 1, 3, padding=1),
            )
        else:
            raise ValueError(f"unknown dataset {dataset!r}")
        c, h, w = self.shape
        self.fc = nn.Sequential(nn.Linear(latent_dim, c * h * w), nn.ReLU(inplace=True))

    def forward(self, z):
        """Return pre-activation outputs: logits (MNIST, Bernoulli) or pre-sigmoid means (SVHN)."""
        return self.net(self.fc(z).view(-1, *self.shape))


class Classifier(nn.Module):
    """The shared MLP: 3 x (Linear 500, ReLU, Dropout 0.5), Linear 10 -> logits of p(l|z)."""

    def __init__(self, in_dim: int = LATENT_CONTENT, hidden: int = MLP_WIDTH, p: float = DROPOUT):
        super().__init__()
        layers, d = [], in_dim
        for _ in range(MLP_BLOCKS):
            layers += [nn.Linear(d, hidden), nn.ReLU(inplace=True), nn.Dropout(p)]
            d = hidden
        layers.append(nn.Linear(d, N_CLASSES))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class SingleClassifier(nn.Module):
    """Benchmark: SVHN CNN -> 10-d bottleneck -> MLP (trained on SVHN alone)."""

    datasets = ("svhn",)

    def __init__(self):
        super().__init__()
        self.encoders = nn.ModuleDict({"svhn": Encoder("svhn", LATENT_CONTENT)})
        self.classifier = Classifier()

    def features(self, x, dataset="svhn"):
        return self.encoders[dataset](x)

    def forward(self, x, dataset="svhn"):
        """Class logits for images ``x`` of ``dataset``."""
        return self.classifier(self.features(x, dataset))


class PairedClassifier(SingleClassifier):
    """Separate SVHN and MNIST CNNs, each to a 10-d bottleneck, one shared MLP."""

    datasets = ("svhn", "mnist")

    def __init__(self):
        super().__init__()
        self.encoders["mnist"] = Encoder("mnist", LATENT_CONTENT)


class JADE(nn.Module):
    """Joint autoencoders: per dataset a Gaussian encoder q(z_style, z_content | x)
    and a decoder p(x | z_style, z_content); one classifier p(l | z_content).

    Latent layout: dims 0..9 are the content z2 (SVHN) / z4 (MNIST), dims
    10..19 the style z1 / z3. At test time the classifier reads the posterior
    mean of the content, so classification depends on ``x`` alone.
    """

    datasets = ("svhn", "mnist")

    def __init__(self):
        super().__init__()
        self.encoders = nn.ModuleDict({d: Encoder(d, 2 * LATENT) for d in self.datasets})
        self.decoders = nn.ModuleDict({d: Decoder(d) for d in self.datasets})
        self.classifier = Classifier()

    def posterior(self, x, dataset):
        """Mean and log-variance of q(z|x), each (N, 20); content first."""
        mu, logvar = self.encoders[dataset](x).float().chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp() finite in bf16 and early training

    @torch.no_grad()
    def reconstruct(self, x, dataset="svhn"):
        """Decoder output at the posterior mean, as images in [0, 1] (sigmoid of the decoder)."""
        return torch.sigmoid(self.decoders[dataset](self.posterior(x, dataset)[0]).float())

    def forward(self, x, dataset="svhn"):
        """Class logits from the posterior mean of the content dimensions."""
        mu, _ = self.posterior(x, dataset)
        return self.classifier(split_latent(mu)[0])


MODELS = {"single": SingleClassifier, "paired": PairedClassifier, "jade": JADE}


def build_model(variant: str) -> nn.Module:
    return MODELS[variant]()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
