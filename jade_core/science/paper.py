"""What the paper states, quoted in one place (Banijamali, Karimi, Wong & Ghodsi, "JADE: Joint
Autoencoders for Dis-Entanglement", ../shared/paper/jade_paper.txt).

Every number of the paper that the book or the code uses comes from here: Table 1, the experimental
setting of its caption, and the architecture sizes of Section 3; and the one number of another paper the
book quotes (Oliver et al., 2018). Nothing here is computed.
"""
from __future__ import annotations

import pandas as pd

# Table 1: classification error (%), mean and sd over PAPER_RUNS runs; MNIST only for the models trained on it.
TABLE1 = pd.DataFrame([
    {"method": "VAE (M1+M2) [3]", "variant": None, "svhn_mean": 36.02, "svhn_sd": 0.10, "mnist_mean": None, "mnist_sd": None},
    {"method": "Siddharth et al. [11]", "variant": None, "svhn_mean": 28.71, "svhn_sd": 2.38, "mnist_mean": None, "mnist_sd": None},
    {"method": "Single Classifier (benchmark)", "variant": "single", "svhn_mean": 32.31, "svhn_sd": 1.56, "mnist_mean": None, "mnist_sd": None},
    {"method": "Paired Classifier", "variant": "paired", "svhn_mean": 30.17, "svhn_sd": 2.77, "mnist_mean": 0.82, "mnist_sd": 0.05},
    {"method": "JADE (proposed)", "variant": "jade", "svhn_mean": 29.08, "svhn_sd": 0.92, "mnist_mean": 0.72, "mnist_sd": 0.03},
])

# Table 1's caption and header: "limited data: 100 samples per each class", "averaged over 3 runs",
# "SVHN (1000 samples)", "MNIST (45K samples)".
LABELS_PER_CLASS = 100
LABELLED = 1000
RUNS = 3
MNIST_TRAIN = 45000

# Not the JADE paper's, quoted as a landmark beside the tuned recipe (Table 1 chapter): Oliver et al. (2018),
# "Realistic Evaluation of Deep Semi-Supervised Learning Algorithms", the supervised WRN-28-2 baseline on SVHN
# with 1,000 labels (their split and recipe), SVHN error (%).
OLIVER2018_SVHN_1000_LABELS = 12.8

# Section 3, "Model Comparison".
ARCHITECTURE = {
    "kernel": 3,                      # "3x3 spatial convolutions"
    "pool": 2,                        # "2x max-pooling"
    "svhn_filters": (64, 96, 64, 8),  # "4 layers ... {64, 96, 64, 8} filters"
    "mnist_filters": (32, 32, 16),    # "3 layers ... {32, 32, 16} filters"
    "mlp_blocks": 3,                  # "3 blocks of 500-dimensional fully connected layers"
    "mlp_width": 500,
    "dropout": 0.5,                   # "Dropout (p = 0.5)"
    "bottleneck": 10,                 # "A 10-dimensional bottleneck layer"
    "jade_latent": 20,                # "we increase the size of the latent spaces from 10 to 20 dimensions"
    "classes": 10,                    # "10-way classification"
}


# Figure 2's caption: "500 random samples from each of 10 classes", "2500 random samples from SVHN".
FIGURE2_PER_CLASS = 500
FIGURE2_REFERENCE = 2500


def svhn_error(variant: str) -> float:
    """The paper's SVHN error (%) of a model of Table 1 (``single``, ``paired``, ``jade``)."""
    return float(TABLE1.set_index("variant").loc[variant, "svhn_mean"])
