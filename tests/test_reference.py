"""harmonylib.reference: the published numbers agree with each other where they must."""
from harmonylib import reference
from harmonylib.grid import BY_NAME
from harmonylib.recipes import PAPER_GROUPS


def test_irmas_counts_add_up_to_the_release():
    assert sum(reference.IRMAS_TRAIN_COUNTS.values()) == 6705
    assert sum(reference.IRMAS_LABELS_PER_CLIP.values()) == sum(n for *_, n in reference.IRMAS_TEST_PARTS) == 2874
    labels = sum(k * n for k, n in reference.IRMAS_LABELS_PER_CLIP.items())
    assert labels == sum(reference.IRMAS_TEST_LABEL_COUNTS.values()) == 4917


def test_report_numbers_belong_to_the_grid_and_are_scores():
    for (experiment, test), metrics in reference.PAPER_RESULTS.items():
        assert experiment in BY_NAME and test in ("irmas", "audioset")
        assert all(0 < value < 1 for value in metrics.values())
    assert set(reference.ORIGINAL_HOURS) == set(reference.PAPER_PARAMETERS)


def test_optimiser_tables_become_the_recipes_groups():
    for family, groups in reference.PAPER_OPTIMISERS.items():
        assert [(g.name, g.lr, g.lr_end, g.weight_decay) for g in PAPER_GROUPS[family]] == list(groups)
        assert all(lr > lr_end for _, lr, lr_end, _ in groups)
    assert reference.AST_L2_HIGHER == {name: decay for name, _, _, decay in reference.PAPER_OPTIMISERS["ast"]}


def test_sentences_quote_the_numbers():
    assert reference.published_range("macro_f1") == "0.50-0.62"
    assert reference.published_range("micro_f1") == "0.60-0.69"
    assert reference.paper_results("resnet50_w1")["macro_f1"] == 0.5507
    assert reference.paper_results("resnet50_w2", "audioset") == {}
