"""The appendix's numbers: read from the committed summary table, mean ± sd where a design had several runs."""
import pytest
from jade_core.reporting import history
from jade_core.science.config import ConfigError

HEADER = "design,model,labels_per_class,runs,svhn_error,svhn_error_sd,mnist_error,svhn_val_error,mnist_val_error\n"


def test_values_are_the_planted_means_keyed_by_design_model_and_budget(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text(HEADER + "first-table1,jade,100,10,31.87,3.5,1.08,33.9,1.27\n"
                          "first-budget,single,10,5,75.65,5.0,,76.88,\n"
                          "seed0-tuning,jade-wm30,100,1,28.71,,0.96,25.2,1.17\n")
    v = history.values(f)
    assert v["h_first_table1_jade"] == "31.87 ± 3.50" and v["h_first_table1_jade_n"] == "10"
    assert v["h_first_table1_jade_mnist"] == "1.08" and v["h_first_table1_jade_val"] == "33.90"
    assert v["h_first_budget_single_l10"] == "75.65 ± 5.00" and v["h_first_budget_single_l10_mnist"] == "–"
    assert v["h_seed0_tuning_jade_wm30"] == "28.71" and v["h_seed0_tuning_jade_wm30_val"] == "25.20"


def test_a_missing_column_or_design_is_one_clear_error(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("design,model\nx,y\n")
    with pytest.raises(ConfigError, match="lacks the column"):
        history.values(f)
    f.write_text(HEADER + "first-table1,jade,100,10,31.87,3.5,1.08,33.9,1.27\n")
    with pytest.raises(ConfigError, match="no design 'nope'; it has first-table1"):
        history.table(f, "nope")
