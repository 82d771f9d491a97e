import numpy as np
import pandas as pd
import pytest
from jade_core.report import failed_to_train, summary_table


def runs():
    rows = []
    for s in range(5):
        rows.append(dict(variant="single", protocol="local", seed=s, svhn_error=40 + s, mnist_error=None, train_seconds=60,
                         final_train_ce=0.05))
        rows.append(dict(variant="jade", protocol="local", seed=s, svhn_error=38 + s + 0.1 * (s % 2), mnist_error=1.0,
                         train_seconds=120, final_train_ce=0.05))
    return pd.DataFrame(rows)


def test_summary_mean_sd_and_order():
    t = summary_table(runs())
    assert list(t.variant) == ["single", "jade"]
    single = t.iloc[0]
    assert single.svhn_mean == 42 and single.svhn_sd == pytest.approx(np.std([40, 41, 42, 43, 44], ddof=1))
    assert single.seeds == 5 and np.isnan(single.mnist_mean) and single.failed == 0 and single.svhn_median == 42


def test_runs_stuck_at_chance_are_flagged_from_the_training_loss():
    r = runs()
    r.loc[0, "final_train_ce"] = 2.303  # ln 10: never left the plateau
    r.loc[1, "final_train_ce"] = 1.9
    assert list(failed_to_train(r)[:3]) == [True, False, False]
    assert summary_table(r).set_index("variant").loc["single", "failed"] == 1
    # every run failed (as in 2-epoch smoke runs): the table without them is empty but has its columns
    r["final_train_ce"] = 2.303
    empty = summary_table(r[~failed_to_train(r)])
    assert empty.empty and "svhn_mean" in empty.columns and empty.set_index("variant").index.empty


def test_readme_quotes_jade_table_of_the_committed_runs():
    """The README's results block is exactly what `jade table` prints from results/ (never typed by hand)."""
    import re
    from pathlib import Path

    from jade_core.report import markdown_table1
    from jade_core.runs import collect_table1
    root = Path(__file__).resolve().parents[1]
    block = re.search(r"<!-- jade-table:start -->\n(.*?)<!-- jade-table:end -->",
                      (root / "README.md").read_text(), re.S)
    assert block, "README lacks the jade-table markers"
    runs = collect_table1(root / "results")
    expected = (markdown_table1(runs) + "\n") if len(runs) else ""
    assert block.group(1) == expected, "README out of date: paste the output of `jade table` between the markers"
