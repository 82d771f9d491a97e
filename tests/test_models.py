import pytest
import torch
from jade_core.science.models import JADE, LATENT, Decoder, Encoder, build_model, count_parameters


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
    from jade_core.science.models import split_latent
    c, s = split_latent(torch.arange(40).view(2, 20))
    assert c.tolist()[1] == list(range(20, 30)) and s.tolist()[0] == list(range(10, 20))
    c, s = split_latent(np.arange(20))
    assert list(c) == list(range(10)) and list(s) == list(range(10, 20))


# --- Properties pinned one by one (found by mutation testing, results/mutation/models.md) ---------

def test_input_standardisation_uses_the_fixed_statistics_and_is_not_in_the_weights():
    from jade_core.science.models import INPUT_STATS
    assert INPUT_STATS == {"mnist": ((0.1307,), (0.3081,)), "svhn": ((0.45, 0.45, 0.45), (0.2, 0.2, 0.2))}
    for dataset, shape in (("svhn", (2, 3, 32, 32)), ("mnist", (2, 1, 28, 28))):
        enc = Encoder(dataset, 10)
        x = torch.rand(*shape)
        mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in INPUT_STATS[dataset])
        expected = enc.bottleneck(torch.flatten(enc.features((x - mean) / std), 1))
        assert torch.allclose(enc(x), expected, atol=1e-6)
        assert not any("mean" in k or "std" in k for k in enc.state_dict())
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        Encoder("cifar", 10)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        Decoder("cifar")


def test_parameter_count_of_the_single_classifier_by_hand():
    """The architecture of Section 3, counted: SVHN convolutions 3->64->96->64->8 (3x3, with bias),
    the 128 -> 10 bottleneck, and the MLP 10 -> 500 -> 500 -> 500 -> 10."""
    convs = (3 * 64 * 9 + 64) + (64 * 96 * 9 + 96) + (96 * 64 * 9 + 64) + (64 * 8 * 9 + 8)
    mlp = (10 * 500 + 500) + 2 * (500 * 500 + 500) + (500 * 10 + 10)
    assert count_parameters(build_model("single")) == convs + (128 * 10 + 10) + mlp
    mnist = (1 * 32 * 9 + 32) + (32 * 32 * 9 + 32) + (32 * 16 * 9 + 16) + (144 * 10 + 10)
    assert count_parameters(build_model("paired")) == convs + (128 * 10 + 10) + mlp + mnist


def test_log_variance_is_clamped_to_minus_12_and_8():
    m = JADE()
    with torch.no_grad():
        m.encoders["svhn"].bottleneck.bias[20:25] = 1e4    # log-variances of dims 0..4 (outputs 20..24): far above 8
        m.encoders["svhn"].bottleneck.bias[25:30] = -1e4   # dims 5..9: far below -12
    _, logvar = m.posterior(torch.rand(2, 3, 32, 32), "svhn")
    assert (logvar[:, :5] == 8.0).all() and (logvar[:, 5:10] == -12.0).all()


def test_reconstruction_decodes_the_posterior_mean_through_a_sigmoid():
    torch.manual_seed(0)
    m = JADE().eval()
    x = torch.rand(3, 3, 32, 32)
    mu, logvar = m.posterior(x, "svhn")
    rec = m.reconstruct(x, "svhn")
    assert torch.allclose(rec, torch.sigmoid(m.decoders["svhn"](mu)), atol=1e-6)
    assert not torch.allclose(rec, torch.sigmoid(m.decoders["svhn"](logvar)), atol=1e-4)
    assert rec.min() >= 0 and rec.max() <= 1


def test_decoders_upsample_by_nearest_neighbour_mirroring_the_pooling():
    ups = [l for l in Decoder("svhn").net if isinstance(l, torch.nn.Upsample)]
    assert [u.scale_factor for u in ups] == [2.0, 2.0, 2.0] and {u.mode for u in ups} == {"nearest"}
    ups = [l for l in Decoder("mnist").net if isinstance(l, torch.nn.Upsample)]
    assert ups[0].size == (7, 7) and [u.scale_factor for u in ups[1:]] == [2.0, 2.0]


def test_which_datasets_each_model_reads():
    assert build_model("single").datasets == ("svhn",)
    assert build_model("paired").datasets == build_model("jade").datasets == ("svhn", "mnist")
    assert set(build_model("jade").decoders) == {"svhn", "mnist"}


def test_decoder_layers_mirror_the_encoders():
    names = lambda seq: [type(l).__name__ for l in seq]
    assert names(Decoder("svhn").net) == ["Conv2d", "ReLU", "Upsample"] * 3 + ["Conv2d"]
    assert names(Decoder("mnist").net) == ["Upsample"] + ["Conv2d", "ReLU", "Upsample"] * 2 + ["Conv2d"]
    for dataset, features in (("svhn", 8 * 4 * 4), ("mnist", 16 * 3 * 3)):  # the encoder's feature count
        fc = Decoder(dataset).fc
        assert names(fc) == ["Linear", "ReLU"] and fc[0].out_features == features and fc[0].in_features == LATENT


@pytest.mark.parametrize("variant", ["single", "paired", "jade"])
def test_the_default_dataset_is_svhn(variant):
    m = build_model(variant).eval()
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(m(x), m(x, "svhn"))


def test_encoders_pool_after_the_first_three_convolutions():
    """Section 3: 2x max-pooling after each of the first three convolutions (SVHN: not after the fourth)."""
    names = lambda seq: [type(l).__name__ for l in seq]
    assert names(Encoder("svhn", 10).features) == ["Conv2d", "ReLU", "MaxPool2d"] * 3 + ["Conv2d", "ReLU"]
    assert names(Encoder("mnist", 10).features) == ["Conv2d", "ReLU", "MaxPool2d"] * 3
