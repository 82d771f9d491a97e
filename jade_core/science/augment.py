"""Data augmentation of the tuned recipe, on a batch of SVHN images (N, C, H, W) in [0, 1].

The paper trains without augmentation (the plain recipe: every function here
is then the identity and draws no random numbers, so plain runs are
unchanged). The tuned recipe of the Table 1 chapter uses the standard
few-label SVHN augmentations (Oliver et al., 2018): small translations,
colour inversion, contrast jitter and cutout. No horizontal flips: digits
are not mirror-symmetric. Random numbers come from the run's CPU generator,
so a run is reproducible and resumes bit-identically.
"""
from __future__ import annotations

import torch


def shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by (dy, dx), each uniform in [-max_shift, max_shift]; the border pixels
    are repeated into the gap (SVHN digits sit on textured backgrounds, zeros would be a cue)."""
    if max_shift <= 0:
        return x
    n, c, h, w = x.shape
    d = torch.randint(-max_shift, max_shift + 1, (2, n), generator=gen).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] - d[0][:, None]).clamp(0, h - 1)   # (n, h)
    cols = (torch.arange(w, device=x.device)[None, :] - d[1][:, None]).clamp(0, w - 1)   # (n, w)
    b = torch.arange(n, device=x.device)[:, None, None, None]
    ch = torch.arange(c, device=x.device)[None, :, None, None]
    return x[b, ch, rows[:, None, :, None], cols[:, None, None, :]]


def invert(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Replace each image by 1 - x with probability ``p`` (SVHN has light-on-dark and dark-on-light digits)."""
    if p <= 0:
        return x
    flip = (torch.rand(len(x), generator=gen) < p).to(x.device)[:, None, None, None]
    return torch.where(flip, 1.0 - x, x)


def contrast(x: torch.Tensor, amount: float, gen: torch.Generator) -> torch.Tensor:
    """Scale each image about its mean intensity by a factor uniform in [1 - amount, 1 + amount], clipped to [0, 1]."""
    if amount <= 0:
        return x
    f = (1.0 + amount * (2.0 * torch.rand(len(x), generator=gen) - 1.0)).to(x.device)[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * f + mean).clamp(0.0, 1.0)


def cutout(x: torch.Tensor, size: int, gen: torch.Generator, fill: float = 0.5) -> torch.Tensor:
    """Blank a ``size`` x ``size`` square (value ``fill``) centred at a uniform random pixel of each
    image (DeVries & Taylor, 2017); the square is cut off at the border."""
    if size <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=gen).to(x.device)[:, None, None]
    cx = torch.randint(0, w, (n,), generator=gen).to(x.device)[:, None, None]
    r = torch.arange(h, device=x.device)[None, :, None]
    q = torch.arange(w, device=x.device)[None, None, :]
    lo = size // 2
    inside = (r >= cy - lo) & (r < cy - lo + size) & (q >= cx - lo) & (q < cx - lo + size)
    return torch.where(inside[:, None], torch.full_like(x, fill), x)


def augment(x: torch.Tensor, cfg, gen: torch.Generator) -> torch.Tensor:
    """The recipe's augmentation of one SVHN batch, in a fixed order: shift, invert, contrast, cutout."""
    x = shift(x, cfg.aug_shift, gen)
    x = invert(x, cfg.aug_invert, gen)
    x = contrast(x, cfg.aug_contrast, gen)
    return cutout(x, cfg.aug_cutout, gen)


def is_plain(cfg) -> bool:
    """True when the run uses no augmentation at all."""
    return not (cfg.aug_shift or cfg.aug_invert or cfg.aug_contrast or cfg.aug_cutout)
