"""The losses of Eq. 1 and Eq. 2.

Eq. 1 (SVHN images x, MNIST images y, shared label l):

    L(x, l) = E_{q(z1|x) q(z2|x,l)}[log p(x | z1, z2)] + E_{q(z2|x,l)}[log p(l | z2)]
              - KL(q(z1|x) || p(z1)) - KL(q(z2|x,l) || p(z2))

and the same for (y, l) with z3, z4 (the paper's second bound writes
p(x|z3,z4) and q(z3|x); it means p(y|z3,z4) and q(z3|y), implemented here).

Eq. 2:  max  L(x, l) + L(y, l) - KL(q(z2|x,l) || q(z4|y,l))

Reading of q(z2|x,l) implemented: the encoder sees the image only, so the
classifier can work at test time from x alone; the label enters the objective
through the classification term and through the pairing of the matching KL,
which is taken between an SVHN image and an MNIST image *of the same class*.
Priors are N(0, I). Expectations use one reparameterised sample per image.

Likelihoods: MNIST p(y|z3,z4) is Bernoulli on pixel intensities in [0, 1]
(the usual choice for MNIST); SVHN p(x|z1,z2) is a Gaussian with mean
sigmoid(decoder) and fixed standard deviation ``sigma`` per pixel and channel.

All functions return per-image values (sum over dimensions); the training
objective averages them over the batch. Optional weights (``w_*``) multiply
the terms; Eq. 2 has none, so these functions default to 1. The training
configuration (:class:`jade_core.science.config.RunConfig`) raises the classification
weight ``w_cls``, chosen on validation data: with Eq. 2 as written the SVHN
reconstruction term (thousands of nats) drowns the classifier.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .models import split_latent


def kl_std_normal(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def kl_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    """KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)) for diagonal Gaussians, summed over dims:

    1/2 sum( log sigma_p^2 - log sigma_q^2 + (sigma_q^2 + (mu_q - mu_p)^2) / sigma_p^2 - 1 ).
    """
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).pow(2)) / logvar_p.exp() - 1.0).sum(-1)


def bernoulli_log_likelihood(logits, x):
    """log p(x|z) = sum_i x_i log s_i + (1 - x_i) log(1 - s_i), s = sigmoid(logits), per image."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(-1)


def gaussian_log_likelihood(mean, x, sigma):
    """log N(x; mean, sigma^2 I) = sum_i -(x_i - mean_i)^2 / (2 sigma^2) - log sigma - 1/2 log 2 pi."""
    d = x[0].numel()
    sq = (x - mean).pow(2).flatten(1).sum(-1)
    return -0.5 * sq / sigma**2 - d * (math.log(sigma) + 0.5 * math.log(2 * math.pi))


# p(x|z) of each dataset (what log_likelihood computes; the book's departures table quotes it)
LIKELIHOODS = {"mnist": "Bernoulli on grey levels", "svhn": "Gaussian on [0, 1] pixels"}


def log_likelihood(dataset, decoded, x, sigma):
    """The likelihood of Eq. 1 for ``dataset``: Bernoulli (MNIST), Gaussian (SVHN) (:data:`LIKELIHOODS`)."""
    decoded = decoded.float()
    if LIKELIHOODS[dataset].startswith("Bernoulli"):
        return bernoulli_log_likelihood(decoded, x)
    return gaussian_log_likelihood(torch.sigmoid(decoded), x, sigma)


def reparameterize(mu, logvar):
    """z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling, 2013)."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


def kl_match(mu_x, logvar_x, mu_y, logvar_y):
    """The matching term of Eq. 2: KL(q(z2|x,l) || q(z4|y,l)) on the content dims of
    an SVHN image x and an MNIST image y of the same class l (row i with row i)."""
    (mu_x, _), (logvar_x, _) = split_latent(mu_x), split_latent(logvar_x)
    (mu_y, _), (logvar_y, _) = split_latent(mu_y), split_latent(logvar_y)
    return kl_gaussians(mu_x, logvar_x, mu_y, logvar_y)


def elbo_terms(model, x, labels, dataset, sigma, rec_reduction="sum", label_smoothing=0.0):
    """The four terms of one bound of Eq. 1, per image, and the posterior.

    ``rec_reduction="sum"``: ``rec`` is the log-likelihood log p(x|z) (summed
    over pixels, as Eq. 1 states); ``"mean"``: divided by the number of pixel
    values D (3,072 SVHN, 784 MNIST), a reading some implementations use, which
    weakens reconstruction against the other terms by a factor D.
    ``label_smoothing`` > 0 (tuned recipe only) replaces log p(l|z) by the
    smoothed cross-entropy's negative.

    Returns a dict with ``rec`` = log p(x|z_style, z_content), ``cls`` =
    log p(l|z_content), ``kl_style``, ``kl_content`` (to the N(0, I) priors),
    ``elbo`` = rec + cls - kl_style - kl_content, and ``mu``, ``logvar``.
    """
    mu, logvar = model.posterior(x, dataset)
    z = reparameterize(mu, logvar)
    rec = log_likelihood(dataset, model.decoders[dataset](z), x, sigma)
    if rec_reduction == "mean":
        rec = rec / x[0].numel()
    cls = -F.cross_entropy(model.classifier(split_latent(z)[0]).float(), labels, reduction="none",
                           label_smoothing=label_smoothing)
    (mu_content, mu_style), (logvar_content, logvar_style) = split_latent(mu), split_latent(logvar)
    kl_content = kl_std_normal(mu_content, logvar_content)
    kl_style = kl_std_normal(mu_style, logvar_style)
    return dict(rec=rec, cls=cls, kl_style=kl_style, kl_content=kl_content,
                elbo=rec + cls - kl_style - kl_content, mu=mu, logvar=logvar)


def jade_objective(model, xs, ls, xm, lm, sigma, w_rec=1.0, w_cls=1.0, w_kl=1.0, w_match=1.0, rec_reduction="sum",
                   label_smoothing=0.0):
    """Negative of Eq. 2, averaged over the batch: the loss JADE minimises,

        loss = -sum_{d in svhn, mnist} mean[ w_rec rec_d + w_cls cls_d - w_kl (kl_style_d + kl_content_d) ]
               + w_match mean[ KL(q(z2|x,l) || q(z4|y,l)) ]

    (all weights 1 and ``rec_reduction="sum"`` is Eq. 2 exactly).

    ``xs, ls``: SVHN images and labels; ``xm, lm``: MNIST images and labels,
    where row i of the MNIST batch has the class of row i of the SVHN batch
    (``lm[:len(ls)] == ls``) so that the matching KL pairs same-class images.
    Returns ``(loss, terms)`` with the batch means of every term (floats).
    """
    if not torch.equal(lm[: len(ls)], ls):
        raise ValueError("jade_objective: the MNIST batch must be class-matched to the SVHN batch row by row.")
    tx = elbo_terms(model, xs, ls, "svhn", sigma, rec_reduction, label_smoothing)
    ty = elbo_terms(model, xm, lm, "mnist", sigma, rec_reduction, label_smoothing)
    n = len(ls)
    match = kl_match(tx["mu"], tx["logvar"], ty["mu"][:n], ty["logvar"][:n])

    def weighted(t):
        return w_rec * t["rec"] + w_cls * t["cls"] - w_kl * (t["kl_style"] + t["kl_content"])

    loss = -(weighted(tx).mean() + weighted(ty).mean()) + w_match * match.mean()
    terms = {"loss": loss.detach()}
    for name, t in (("svhn", tx), ("mnist", ty)):
        for k in ("rec", "cls", "kl_style", "kl_content", "elbo"):
            terms[f"{name}_{k}"] = t[k].detach().mean()
    terms["kl_match"] = match.detach().mean()
    return loss, terms


def classifier_objective(model, xs, ls, xm=None, lm=None, label_smoothing=0.0):
    """Cross-entropy of the single classifier, or the sum of the SVHN and MNIST
    cross-entropies on the shared MLP for the paired classifier (smoothed by
    ``label_smoothing`` in the tuned recipe)."""
    ce_s = F.cross_entropy(model(xs, "svhn").float(), ls, label_smoothing=label_smoothing)
    terms = {"svhn_ce": ce_s.detach()}
    loss = ce_s
    if xm is not None:
        ce_m = F.cross_entropy(model(xm, "mnist").float(), lm, label_smoothing=label_smoothing)
        terms["mnist_ce"] = ce_m.detach()
        loss = loss + ce_m
    terms["loss"] = loss.detach()
    return loss, terms
