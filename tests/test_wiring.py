"""Properties of the paper's wiring that a plausible one-line bug breaks (issue: trustworthy core).

Each test pins one property: which latent dimensions a term reads, which
direction a divergence runs, that a weight scales exactly its own term, that
confusion-matrix rows are the true classes, that prediction is deterministic.
"""
import numpy as np
import pytest
import torch
from jade_core.science import losses
from jade_core.science.evaluate import confusion_matrix, posterior_stats, predict
from jade_core.science.latent import latent_means
from jade_core.science.models import JADE, LATENT_CONTENT, PairedClassifier
from torch.distributions import Independent, Normal, kl_divergence


def _images(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 32, 32, generator=g), torch.rand(n, 1, 28, 28, generator=g)


def _leaf_posterior(model, n=6, seed=0):
    """Replace the encoder by leaf tensors, so gradients per latent dimension can be read."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(n, 20, generator=g).requires_grad_()
    logvar = (0.1 * torch.randn(n, 20, generator=g)).requires_grad_()
    model.posterior = lambda x, dataset: (mu, logvar)
    return mu, logvar


def test_classification_term_reads_only_the_content_dimensions():
    torch.manual_seed(0)
    model = JADE().eval()
    mu, logvar = _leaf_posterior(model)
    xs, _ = _images()
    t = losses.elbo_terms(model, xs, torch.arange(6) % 10, "svhn", 0.1)
    t["cls"].sum().backward()
    assert (mu.grad[:, LATENT_CONTENT:] == 0).all() and (logvar.grad[:, LATENT_CONTENT:] == 0).all()
    assert (mu.grad[:, :LATENT_CONTENT].abs().sum(1) > 0).all()


def test_style_and_content_kl_read_their_own_dimensions():
    model = JADE().eval()
    mu, logvar = _leaf_posterior(model)
    xs, _ = _images()
    t = losses.elbo_terms(model, xs, torch.arange(6) % 10, "svhn", 0.1)
    c = LATENT_CONTENT
    assert torch.allclose(t["kl_style"], losses.kl_std_normal(mu[:, c:], logvar[:, c:]))
    assert torch.allclose(t["kl_content"], losses.kl_std_normal(mu[:, :c], logvar[:, :c]))


def test_kl_match_is_kl_of_svhn_content_to_mnist_content_on_dims_0_to_9():
    torch.manual_seed(3)
    mx, lx, my, ly = torch.randn(5, 20), torch.randn(5, 20) * 0.4, torch.randn(5, 20), torch.randn(5, 20) * 0.4
    c = LATENT_CONTENT
    q_svhn = Independent(Normal(mx[:, :c], (0.5 * lx[:, :c]).exp()), 1)
    q_mnist = Independent(Normal(my[:, :c], (0.5 * ly[:, :c]).exp()), 1)
    ours = losses.kl_match(mx, lx, my, ly)
    assert torch.allclose(ours, kl_divergence(q_svhn, q_mnist), atol=1e-5)
    assert not torch.allclose(ours, kl_divergence(q_mnist, q_svhn), atol=1e-2)  # the direction matters
    mx2, ly2 = mx.clone(), ly.clone()
    mx2[:, c:] += 5.0
    ly2[:, c:] -= 2.0
    assert torch.equal(losses.kl_match(mx2, lx, my, ly2), ours)  # style dims do not enter


@pytest.mark.parametrize("weight, term", [
    ("w_cls", lambda t: -(t["svhn_cls"] + t["mnist_cls"])),
    ("w_rec", lambda t: -(t["svhn_rec"] + t["mnist_rec"])),
    ("w_kl", lambda t: t["svhn_kl_style"] + t["svhn_kl_content"] + t["mnist_kl_style"] + t["mnist_kl_content"]),
    ("w_match", lambda t: t["kl_match"]),
])
def test_each_weight_scales_exactly_its_own_term(weight, term):
    model = JADE().eval()
    xs, xm = _images()
    ls = torch.arange(6) % 10

    def loss(**w):
        torch.manual_seed(7)  # the same reparameterisation noise for both evaluations
        return losses.jade_objective(model, xs, ls, xm, ls, 0.1, **w)

    base, terms = loss()
    moved, _ = loss(**{weight: 1.0 + 2.5})
    assert float((moved - base).detach()) == pytest.approx(2.5 * float(term(terms).detach()), rel=1e-4, abs=1e-3)


def test_confusion_matrix_rows_are_true_classes():
    c = confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 1]), n_classes=3)
    assert c.tolist() == [[0, 2, 0], [0, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("model", [JADE(), PairedClassifier()])
def test_prediction_is_deterministic_and_restores_the_mode(model):
    xs, _ = _images(20)
    model.train()
    a, b = predict(model, xs), predict(model, xs)
    assert torch.equal(a, b) and model.training
    model.eval()
    assert torch.equal(predict(model, xs), a)


def test_jade_classifies_from_content_means_only():
    model = JADE().eval()
    xs, _ = _images()
    mu, logvar = model.posterior(xs, "svhn")
    expected = model.classifier(mu[:, :LATENT_CONTENT])
    assert torch.allclose(model(xs, "svhn"), expected)
    shifted = mu.clone()
    shifted[:, LATENT_CONTENT:] += 10.0
    model.posterior = lambda x, d: (shifted, logvar)
    assert torch.allclose(model(xs, "svhn"), expected)


def test_figure2_analysis_uses_posterior_means():
    model = JADE().eval()
    xs, _ = _images()
    mu, logvar = model.posterior(xs, "svhn")
    assert np.allclose(latent_means(model, xs, "svhn"), mu.detach().numpy(), atol=1e-6)
    got_mu, got_lv = posterior_stats(model, xs, "svhn")
    assert torch.allclose(got_mu, mu.detach(), atol=1e-6) and torch.allclose(got_lv, logvar.detach(), atol=1e-6)
    assert not np.allclose(latent_means(model, xs, "svhn"), logvar.detach().numpy(), atol=1e-3)


def test_figure2_analysis_reads_the_encoder_of_the_dataset_it_is_given():
    torch.manual_seed(0)
    model = JADE().eval()
    _, xm = _images()
    mu, _ = model.posterior(xm, "mnist")
    assert np.allclose(latent_means(model, xm, "mnist"), mu.detach().numpy(), atol=1e-6)
