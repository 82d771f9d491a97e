import math

import pytest
import torch
from jade_core.science import checks, losses
from jade_core.science.models import JADE
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence


def test_kl_std_normal_closed_form_and_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5) * 0.5
    ours = losses.kl_std_normal(mu, logvar)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros(5), torch.ones(5)), 1)
    assert torch.allclose(ours, kl_divergence(q, p), atol=1e-5)
    z = q.sample((200000,))
    mc = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert torch.allclose(ours, mc, atol=0.03)


def test_kl_between_gaussians_matches_torch_and_monte_carlo():
    torch.manual_seed(1)
    mq, lq, mp, lp = torch.randn(4, 6), torch.randn(4, 6) * 0.3, torch.randn(4, 6), torch.randn(4, 6) * 0.3
    ours = losses.kl_gaussians(mq, lq, mp, lp)
    q, p = Independent(Normal(mq, (0.5 * lq).exp()), 1), Independent(Normal(mp, (0.5 * lp).exp()), 1)
    assert torch.allclose(ours, kl_divergence(q, p), atol=1e-5)
    z = q.sample((200000,))
    assert torch.allclose(ours, (q.log_prob(z) - p.log_prob(z)).mean(0), atol=0.05)
    assert torch.allclose(losses.kl_gaussians(mq, lq, mq, lq), torch.zeros(4), atol=1e-6)
    assert torch.allclose(losses.kl_gaussians(mq, lq, torch.zeros(4, 6), torch.zeros(4, 6)),
                          losses.kl_std_normal(mq, lq))


def test_likelihoods_match_torch_distributions():
    torch.manual_seed(2)
    x = torch.rand(3, 1, 4, 4)
    logits = torch.randn(3, 1, 4, 4)
    # continuous Bernoulli-style log-likelihood on grey levels equals the binary one on 0/1 data
    xb = (x > 0.5).float()
    assert torch.allclose(losses.bernoulli_log_likelihood(logits, xb),
                          Independent(Bernoulli(logits=logits), 3).log_prob(xb), atol=1e-5)
    mean = torch.rand(3, 3, 2, 2)
    xs = torch.rand(3, 3, 2, 2)
    ref = Independent(Normal(mean, 0.1), 3).log_prob(xs)
    assert torch.allclose(losses.gaussian_log_likelihood(mean, xs, 0.1), ref, atol=1e-4)


def test_reparameterization_moments():
    torch.manual_seed(3)
    mu, logvar = torch.full((200000, 1), 2.0), torch.full((200000, 1), math.log(0.25))
    z = losses.reparameterize(mu, logvar)
    assert abs(z.mean() - 2.0) < 0.01 and abs(z.std() - 0.5) < 0.01


def _jade_batch():
    """A JADE (seed 4) and a batch of 6 SVHN and 8 MNIST images, the first 6 MNIST rows class-matched."""
    torch.manual_seed(4)
    m = JADE()
    xs, xm = torch.rand(6, 3, 32, 32), torch.rand(8, 1, 28, 28)
    ls = torch.randint(0, 10, (6,))
    lm = torch.cat([ls, torch.randint(0, 10, (2,))])
    return m, xs, ls, xm, lm


def test_jade_objective_is_the_negative_of_eq2():
    m, xs, ls, xm, lm = _jade_batch()
    torch.manual_seed(5)
    loss, t = losses.jade_objective(m, xs, ls, xm, lm, sigma=0.1)
    eq2 = t["svhn_elbo"] + t["mnist_elbo"] - t["kl_match"]
    assert torch.allclose(loss, -eq2, rtol=1e-5)
    for d in ("svhn", "mnist"):
        assert torch.allclose(t[f"{d}_elbo"], t[f"{d}_rec"] + t[f"{d}_cls"] - t[f"{d}_kl_style"] - t[f"{d}_kl_content"],
                              rtol=1e-5)
        assert t[f"{d}_kl_style"] >= 0 and t[f"{d}_kl_content"] >= 0 and t[f"{d}_cls"] <= 0
    assert t["kl_match"] >= 0
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())


def test_jade_objective_refuses_unmatched_classes():
    m = JADE()
    with pytest.raises(ValueError, match="class-matched"):
        losses.jade_objective(m, torch.rand(2, 3, 32, 32), torch.tensor([1, 2]),
                              torch.rand(2, 1, 28, 28), torch.tensor([2, 1]), sigma=0.1)


def test_elbo_is_below_exact_log_likelihood_of_a_linear_gaussian_model():
    """ELBO <= log p(x) on a model whose evidence is exact: z ~ N(0,1), x|z ~ N(a z, s^2)."""
    loose = checks.linear_gaussian_elbo(mu=0.3, logvar=-1.0)
    assert loose["elbo"] < loose["log_evidence"] - 0.05
    tight = checks.linear_gaussian_elbo()
    assert abs(tight["elbo"] - tight["log_evidence"]) < 0.01


def test_monte_carlo_helper_agrees_with_closed_form():
    r = checks.kl_monte_carlo(torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.4]]))
    assert torch.allclose(r["closed_form"], r["monte_carlo"], atol=5 * float(r["mc_standard_error"].max()) + 1e-3)


def test_classifier_objectives_are_the_cross_entropies_of_each_dataset():
    """Single: CE on SVHN; paired: CE(SVHN through the SVHN encoder) + CE(MNIST through the MNIST encoder)."""
    import torch.nn.functional as F
    from jade_core.science.models import build_model
    torch.manual_seed(6)
    model = build_model("paired").eval()
    xs, xm = torch.rand(5, 3, 32, 32), torch.rand(7, 1, 28, 28)
    ls, lm = torch.randint(0, 10, (5,)), torch.randint(0, 10, (7,))
    ce_s, ce_m = F.cross_entropy(model(xs, "svhn"), ls), F.cross_entropy(model(xm, "mnist"), lm)
    loss, t = losses.classifier_objective(model, xs, ls, xm, lm)
    assert torch.allclose(loss, ce_s + ce_m) and torch.allclose(t["mnist_ce"], ce_m) and torch.allclose(t["svhn_ce"], ce_s)
    assert torch.allclose(t["loss"], loss)
    single, ts = losses.classifier_objective(model, xs, ls)
    assert torch.allclose(single, ce_s) and set(ts) == {"svhn_ce", "loss"}
    smooth, _ = losses.classifier_objective(model, xs, ls, xm, lm, label_smoothing=0.2)
    want = F.cross_entropy(model(xs, "svhn"), ls, label_smoothing=0.2) + F.cross_entropy(model(xm, "mnist"), lm,
                                                                                          label_smoothing=0.2)
    assert torch.allclose(smooth, want)


def test_jade_objective_smooths_both_classification_terms():
    m, xs, ls, xm, lm = _jade_batch()
    out = {}
    for eps in (0.0, 0.3):
        torch.manual_seed(5)
        out[eps] = losses.jade_objective(m, xs, ls, xm, lm, sigma=0.1, label_smoothing=eps)[1]
    for d in ("svhn", "mnist"):
        assert not torch.equal(out[0.3][f"{d}_cls"], out[0.0][f"{d}_cls"])  # same z (same seed), other target
        assert torch.allclose(out[0.3][f"{d}_rec"], out[0.0][f"{d}_rec"])


def test_log_likelihood_is_bernoulli_for_mnist_and_gaussian_for_svhn():
    torch.manual_seed(7)
    logits_m, xm = torch.randn(3, 1, 28, 28), torch.rand(3, 1, 28, 28).round()
    logits_s, xs = torch.randn(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    assert torch.allclose(losses.log_likelihood("mnist", logits_m, xm, 0.1), losses.bernoulli_log_likelihood(logits_m, xm))
    assert torch.allclose(losses.log_likelihood("svhn", logits_s, xs, 0.1),
                          losses.gaussian_log_likelihood(torch.sigmoid(logits_s), xs, 0.1))


def test_jade_objective_passes_the_reconstruction_reading_to_both_datasets():
    """rec_reduction='mean' divides each dataset's log-likelihood by its number of pixel values (3,072 and 784)."""
    m, xs, ls, xm, lm = _jade_batch()
    t = {}
    for r in ("sum", "mean"):
        torch.manual_seed(5)
        loss, t[r] = losses.jade_objective(m, xs, ls, xm, lm, sigma=0.1, rec_reduction=r)
        assert torch.equal(t[r]["loss"], loss.detach())
    assert torch.allclose(t["mean"]["svhn_rec"] * 3072, t["sum"]["svhn_rec"], rtol=1e-4)
    assert torch.allclose(t["mean"]["mnist_rec"] * 784, t["sum"]["mnist_rec"], rtol=1e-4)


def test_elbo_terms_use_each_datasets_likelihood_and_no_smoothing_by_default():
    import torch.nn.functional as F
    torch.manual_seed(8)
    m = JADE().eval()
    for dataset, x in (("mnist", torch.rand(4, 1, 28, 28)), ("svhn", torch.rand(4, 3, 32, 32))):
        y = torch.tensor([1, 2, 3, 4])
        torch.manual_seed(9)
        t = losses.elbo_terms(m, x, y, dataset, 0.1)
        torch.manual_seed(9)
        mu, logvar = m.posterior(x, dataset)
        z = losses.reparameterize(mu, logvar)
        want = losses.log_likelihood(dataset, m.decoders[dataset](z), x, 0.1)
        assert torch.allclose(t["rec"], want, rtol=1e-5)
        assert torch.allclose(t["cls"], -F.cross_entropy(m.classifier(z[:, :10]), y, reduction="none"), atol=1e-5)
    xs, xm, ls = torch.rand(3, 3, 32, 32), torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])
    torch.manual_seed(1)
    a = losses.jade_objective(m, xs, ls, xm, ls, sigma=0.1)[1]
    torch.manual_seed(1)
    b = losses.jade_objective(m, xs, ls, xm, ls, sigma=0.1, label_smoothing=0.0)[1]
    assert torch.equal(a["svhn_cls"], b["svhn_cls"]) and torch.equal(a["mnist_cls"], b["mnist_cls"])
