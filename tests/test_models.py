import pytest
import torch
from jade_core.models import JADE, LATENT, Decoder, Encoder, build_model, count_parameters


@pytest.mark.parametrize("variant", ["single", "paired", "jade"])
def test_classifier_logits_shapes(variant):
    m = build_model(variant).eval()
    assert m(torch.rand(4, 3, 32, 32), "svhn").shape == (4, 10)
    if variant != "single":
        assert m(torch.rand(4, 1, 28, 28), "mnist").shape == (4, 10)


def test_encoder_feature_sizes_follow_the_paper():
    svhn, mnist = Encoder("svhn", 10), Encoder("mnist", 10)
    convs = [m.out_channels for m in svhn.features if isinstance(m, torch.nn.Conv2d)]
    assert convs == [64, 96, 64, 8]
    assert [m.out_channels for m in mnist.features if isinstance(m, torch.nn.Conv2d)] == [32, 32, 16]
    assert svhn.features(torch.rand(2, 3, 32, 32)).shape == (2, 8, 4, 4)
    assert mnist.features(torch.rand(2, 1, 28, 28)).shape == (2, 16, 3, 3)


def test_jade_latent_and_decoders():
    m = JADE()
    mu, logvar = m.posterior(torch.rand(3, 3, 32, 32), "svhn")
    assert mu.shape == logvar.shape == (3, LATENT)
    assert Decoder("svhn")(torch.randn(3, LATENT)).shape == (3, 3, 32, 32)
    assert Decoder("mnist")(torch.randn(3, LATENT)).shape == (3, 1, 28, 28)
    # the classifier sees 10 content dims only
    assert m.classifier.net[0].in_features == 10


def test_mlp_has_three_dropout_blocks_of_500():
    m = build_model("single")
    lin = [l for l in m.classifier.net if isinstance(l, torch.nn.Linear)]
    assert [l.out_features for l in lin] == [500, 500, 500, 10]
    assert sum(isinstance(l, torch.nn.Dropout) and l.p == 0.5 for l in m.classifier.net) == 3


def test_parameter_counts_grow_with_the_variant():
    n = [count_parameters(build_model(v)) for v in ("single", "paired", "jade")]
    assert n[0] < n[1] < n[2]


def test_seed_fixes_initial_weights():
    torch.manual_seed(1)
    a = build_model("jade").state_dict()
    torch.manual_seed(1)
    b = build_model("jade").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_split_latent_gives_content_dims_0_to_9_and_style_10_to_19():
    import numpy as np
    import torch
    from jade_core.models import split_latent
    c, s = split_latent(torch.arange(40).view(2, 20))
    assert c.tolist()[1] == list(range(20, 30)) and s.tolist()[0] == list(range(10, 20))
    c, s = split_latent(np.arange(20))
    assert list(c) == list(range(10)) and list(s) == list(range(10, 20))
