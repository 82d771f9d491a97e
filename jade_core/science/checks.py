"""Numerical checks of the losses, shared by the derivation chapter and the tests."""
from __future__ import annotations

import math

import pandas as pd
import torch
from torch.distributions import Independent, Normal

from .losses import kl_gaussians, kl_std_normal, reparameterize


def kl_monte_carlo(mu_q, logvar_q, mu_p=None, logvar_p=None, n=200000, seed=0):
    """Monte Carlo estimate E_q[log q(z) - log p(z)] next to the closed form (per row)."""
    g = torch.Generator().manual_seed(seed)
    mu_p = torch.zeros_like(mu_q) if mu_p is None else mu_p
    logvar_p = torch.zeros_like(logvar_q) if logvar_p is None else logvar_p
    q = Independent(Normal(mu_q, (0.5 * logvar_q).exp()), 1)
    p = Independent(Normal(mu_p, (0.5 * logvar_p).exp()), 1)
    z = mu_q + (0.5 * logvar_q).exp() * torch.randn((n,) + tuple(mu_q.shape), generator=g)
    mc = (q.log_prob(z) - p.log_prob(z))
    return {"closed_form": kl_gaussians(mu_q, logvar_q, mu_p, logvar_p), "monte_carlo": mc.mean(0),
            "mc_standard_error": mc.std(0) / math.sqrt(n)}


def linear_gaussian_elbo(x=0.8, a=1.5, s=0.7, mu=None, logvar=None, n=400000, seed=0):
    """ELBO and exact log-evidence of z ~ N(0, 1), x | z ~ N(a z, s^2).

    log p(x) = log N(x; 0, a^2 + s^2) exactly; the ELBO with q(z) = N(mu, e^logvar)
    is E_q[log p(x|z)] - KL(q || N(0,1)) (one-sample-per-draw Monte Carlo for the
    first term, closed form for the second). With q the true posterior
    N(a x / (a^2 + s^2), s^2 / (a^2 + s^2)) the bound is tight.
    """
    exact = float(Normal(0.0, math.sqrt(a * a + s * s)).log_prob(torch.tensor(x)))
    post_var = 1.0 / (1.0 + a * a / s**2)
    post_mu = post_var * a * x / s**2
    mu = post_mu if mu is None else mu
    logvar = math.log(post_var) if logvar is None else logvar
    torch.manual_seed(seed)
    z = reparameterize(torch.full((n, 1), float(mu)), torch.full((n, 1), float(logvar)))
    rec = float(Normal(a * z, s).log_prob(torch.tensor(x)).mean())
    kl = float(kl_std_normal(torch.tensor([[float(mu)]]), torch.tensor([[float(logvar)]]))[0])
    return {"elbo": rec - kl, "log_evidence": exact, "posterior_mean": post_mu, "posterior_logvar": math.log(post_var)}


KL_TOLERANCE_SE = 5      # a closed-form KL more than this many Monte Carlo standard errors away is wrong
KL_DRAWS = 200000


def kl_table(seed: int = 0, rows: int = 4, dim: int = 10):
    """The derivation chapter's KL check: for random Gaussians, the closed-form KL to the prior and the
    matching KL of Eq. 2 beside their Monte Carlo estimates (:func:`kl_monte_carlo`), and the gap in
    Monte Carlo standard errors. Raises AssertionError when a gap reaches :data:`KL_TOLERANCE_SE`."""
    torch.manual_seed(seed)
    mu_q, logvar_q = torch.randn(rows, dim), 0.5 * torch.randn(rows, dim)
    mu_p, logvar_p = torch.randn(rows, dim), 0.5 * torch.randn(rows, dim)
    out = []
    for name, args in (("KL(q || N(0, I))", (mu_q, logvar_q)),
                       ("KL(q || p), matching term", (mu_q, logvar_q, mu_p, logvar_p))):
        r = kl_monte_carlo(*args, n=KL_DRAWS, seed=seed)
        out += [{"term": name, "row": i, "closed form": float(r["closed_form"][i]),
                 "Monte Carlo": float(r["monte_carlo"][i]), "MC standard error": float(r["mc_standard_error"][i])}
                for i in range(rows)]
    table = pd.DataFrame(out)
    table["|diff| / s.e."] = (table["closed form"] - table["Monte Carlo"]).abs() / table["MC standard error"]
    assert (table["|diff| / s.e."] < KL_TOLERANCE_SE).all(), "closed-form KL disagrees with Monte Carlo"
    return table


ELBO_CASES = (("exact posterior", None, None), ("q = N(0.3, e^-1)", 0.3, -1.0),
              ("q = prior N(0, 1)", 0.0, 0.0), ("q = N(1.5, e^-3)", 1.5, -3.0))


def elbo_table(seed: int = 0):
    """The derivation chapter's bound check (:func:`linear_gaussian_elbo`): the ELBO for several q beside
    the exact log-evidence; the gap is positive for every q but the exact posterior, where it is ~0.
    Raises AssertionError otherwise."""
    rows = []
    for label, mu, lv in ELBO_CASES:
        r = linear_gaussian_elbo(mu=mu, logvar=lv, seed=seed)
        rows.append({"q": label, "ELBO": r["elbo"], "log p(x) (exact)": r["log_evidence"],
                     "gap": r["log_evidence"] - r["elbo"]})
    table = pd.DataFrame(rows)
    assert (table["gap"].iloc[1:] > 0).all() and abs(table["gap"].iloc[0]) < 0.01, "the ELBO is not a bound"
    return table
