"""The split logic (jade_core.science.split): which images a run learns from, validates on and is scored on."""
import json
from pathlib import Path

import numpy as np
import pytest
from jade_core.science.config import DataError
from jade_core.science.split import local_parts, protocol_split, select_pool, select_validation

ROOT = Path(__file__).resolve().parents[1]
LABELS = np.repeat(np.arange(10), 30)                       # 30 images of every digit


def test_pool_takes_exactly_per_class_distinct_images_of_each_digit_up_to_all_of_them():
    pool = select_pool(LABELS, 30, 0)                        # every image of every digit: allowed
    assert pool.shape == (10, 30) and len(np.unique(pool)) == 300
    assert all((LABELS[row] == c).all() for c, row in enumerate(pool))
    with pytest.raises(DataError, match=r"^labels_per_class=31 but SVHN has only 30 images of digit 0\. "
                                        r"Choose labels_per_class <= 30\.$"):
        select_pool(LABELS, 31, 0)
    missing_nine = LABELS[LABELS != 9]
    with pytest.raises(DataError, match=r"has only 0 images of digit 9\. Choose labels_per_class <= 0\.$"):
        select_pool(missing_nine, 1, 0)
    uneven = np.concatenate([LABELS, np.zeros(5, dtype=int)])  # digit 0 has 35, the others 30
    with pytest.raises(DataError, match=r"Choose labels_per_class <= 30\.$"):
        select_pool(uneven, 36, 0)


def test_validation_is_outside_the_pool_balanced_and_fixed_by_the_seed():
    pool = select_pool(LABELS, 10, 4)
    val = select_validation(LABELS, pool.ravel(), 20, 4)     # 20 = all that is left of each digit
    assert len(val) == 200 and len(np.unique(val)) == 200 and not set(val) & set(pool.ravel())
    assert (np.bincount(LABELS[val], minlength=10) == 20).all() and val.dtype.kind == "i"
    assert np.array_equal(val, select_validation(LABELS, pool.ravel(), 20, 4))
    assert not np.array_equal(select_validation(LABELS, [], 5, 4), select_validation(LABELS, [], 5, 5))
    assert len(select_validation(LABELS, [], 0, 4)) == 0      # no validation images: an empty int array
    assert select_validation(LABELS, np.array([], dtype=int), 0, 4).dtype.kind == "i"
    with pytest.raises(DataError, match=r"^val_per_class=21 but SVHN has only 20 images of digit 0 left outside "
                                        r"the labelled pool\. Choose val_per_class <= 20 or a smaller "
                                        r"labels_per_class\.$"):
        select_validation(LABELS, pool.ravel(), 21, 4)


def test_local_cut_boundaries_are_2500_and_8000():
    index = np.array([0, 1, 2499, 2500, 7999, 8000, 9000])
    dev, ev = local_parts(index)
    assert dev.tolist() == [0, 1, 2] and ev.tolist() == [3, 4]


def test_local_protocol_refuses_a_mirror_without_an_evaluation_part_and_names_the_development_part():
    index = np.arange(300)                                   # official indices 0..299 only
    with pytest.raises(DataError, match=r"^the SVHN test digits hold no image of the local protocol's evaluation "
                                        r"part \(official test indices 2500\.\.7999\)\. Use the mirror of "
                                        r"\.\./shared/data or the official test_32x32\.mat\.$"):
        protocol_split("local", LABELS, index, 5, 5, 0)
    index = np.concatenate([np.arange(300), [2500]])
    labels = np.concatenate([LABELS, [3]])
    with pytest.raises(DataError, match=r"^labels_per_class=31 but the development part \(official SVHN test "
                                        r"indices 0\.\.2499\) has only 30"):
        protocol_split("local", labels, index, 31, 0, 0)
    with pytest.raises(DataError, match=r"^val_per_class=25 but the development part \(official SVHN test "
                                        r"indices 0\.\.2499\) has only 20"):
        protocol_split("local", labels, index, 10, 25, 0)
    cut = protocol_split("local", labels, index, 10, 20, 0)   # the one evaluation image is exactly one
    assert cut["eval"].tolist() == [300] and cut["pool"].shape == (10, 10)


def test_paper_protocol_takes_pool_and_validation_from_train_and_scores_on_all_of_test():
    test_labels = np.arange(70) % 10
    cut = protocol_split("paper", LABELS, None, 10, 15, 3, eval_labels=test_labels)
    assert np.array_equal(cut["pool"], select_pool(LABELS, 10, 3))
    assert np.array_equal(cut["val"], select_validation(LABELS, cut["pool"].ravel(), 15, 3))
    assert cut["eval"].tolist() == list(range(70))
    assert protocol_split("paper", LABELS, None, 10, 15, 3)["eval"].tolist() == list(range(300))
    with pytest.raises(DataError, match=r"^labels_per_class=31 but the SVHN train split has only"):
        protocol_split("paper", LABELS, None, 31, 0, 3)
    with pytest.raises(DataError, match=r"^val_per_class=21 but the SVHN train split has only"):
        protocol_split("paper", LABELS, None, 10, 21, 3)


def test_an_evaluation_subset_is_distinct_sorted_and_the_same_for_every_seed():
    index = np.arange(8000)
    labels = index % 10
    full = protocol_split("local", labels, index, 5, 5, 0)["eval"]
    subsets = [protocol_split("local", labels, index, 5, 5, s, eval_size=5000)["eval"] for s in (0, 1)]
    assert np.array_equal(*subsets) and len(np.unique(subsets[0])) == 5000
    assert (np.diff(subsets[0]) > 0).all() and set(subsets[0]) <= set(full)
    assert np.array_equal(protocol_split("local", labels, index, 5, 5, 0, eval_size=5500)["eval"], full)


def test_the_split_of_every_committed_run_is_reproduced(data_dir):
    """The pool and validation images recorded in each committed Table 1 run's config.json are what the
    split logic gives today for its seed: a change of the random streams would silently change every
    re-run (this pins the pool's and the validation's random streams to what the committed runs used)."""
    with np.load(f"{data_dir}/svhn_test.npz") as d:
        labels, index = d["y"], d["index"]
    checked = 0
    for cfg_file in sorted((ROOT / "results" / "remake" / "runs").glob("*/*seed*/config.json"))[:6]:
        saved = json.loads(cfg_file.read_text())
        c, data = saved["config"], saved["data"]
        cut = protocol_split("local", labels, index, c["labels_per_class"], c["val_per_class"], c["seed"],
                             eval_size=c.get("eval_size"))
        assert index[cut["pool"].ravel()].tolist() == data["pool_official_index"], cfg_file
        assert index[cut["val"]].tolist() == data["val_official_index"], cfg_file
        checked += 1
    assert checked == 6
    smoke = protocol_split("local", labels, index, 5, 5, 0, eval_size=400)["eval"]
    # the smoke profile's evaluation subset, pinned so that changing its stream is a decision, not an accident
    assert index[smoke[:5]].tolist() == [2508, 2516, 2517, 2521, 2526]
