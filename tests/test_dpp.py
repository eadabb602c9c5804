"""DPP re-ranking (blender/dpp.py): greedy == brute-force log-det greedy, theta semantics,
sliding window, the redundancy stop, colour families and bad input."""
import numpy as np
import pytest

from blender.dpp import (
    COLOR_FAMILIES,
    COLOR_FAMILY_NAMES,
    DiversityFeatures,
    dpp_rerank,
    greedy_map,
    kernel_matrix,
    similarity_matrix,
)
from lens.palette import NAMED_COLORS

ALL = {"visual": 1.0, "skin_tone": 1.0, "body_type": 0.5, "color": 0.3}


def brute_force(L: np.ndarray, k: int, window: int | None = None) -> list[int]:
    """Greedy argmax of log det L_{W + {i}}, W = the picks (or the last ``window`` of them)."""
    picks: list[int] = []
    for _ in range(k):
        base = picks if window is None else picks[len(picks) - window:] if len(picks) > window else picks
        best = max((i for i in range(len(L)) if i not in picks),
                   key=lambda i: np.linalg.slogdet(L[np.ix_(base + [i], base + [i])])[1])
        picks.append(best)
    return picks


def random_features(rng, n: int, dim: int = 8) -> DiversityFeatures:
    maybe = lambda values: [None if rng.random() < 0.2 else v for v in values]
    palette = sorted(NAMED_COLORS)
    return DiversityFeatures.from_items(
        rng.normal(size=(n, dim)), maybe(rng.integers(1, 5, n).tolist()),
        maybe(rng.integers(1, 5, n).tolist()), maybe([palette[i] for i in rng.integers(0, 30, n)]))


@pytest.mark.parametrize("seed", range(5))
def test_greedy_map_equals_brute_force_on_random_psd_kernels(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(12, 20)) * rng.uniform(0.5, 2.0, size=(12, 1))
    L = a @ a.T
    assert greedy_map(lambda j: L[j], np.diag(L).copy(), 6) == brute_force(L, 6)


@pytest.mark.parametrize("seed,dim", [(0, 8), (1, 8), (2, 8), (3, 300)])   # 300: the einsum rows
def test_rerank_equals_brute_force_on_its_kernel(seed, dim):
    rng = np.random.default_rng(seed)
    feats, r = random_features(rng, 12, dim), rng.uniform(0, 1, 12)
    L = kernel_matrix(r, feats, 0.4, ALL)
    assert dpp_rerank(r, feats, 6, 0.4, ALL) == brute_force(L, 6)


@pytest.mark.parametrize("window", [1, 2, 3])
def test_sliding_window_equals_brute_force_sliding(window):
    rng = np.random.default_rng(window)
    feats, r = random_features(rng, 12), rng.uniform(0, 1, 12)
    L = kernel_matrix(r, feats, 0.5, ALL)
    assert dpp_rerank(r, feats, 9, 0.5, ALL, window=window) == brute_force(L, 9, window)


def test_window_at_least_k_equals_plain_greedy():
    rng = np.random.default_rng(7)
    feats, r = random_features(rng, 40, 16), rng.uniform(0, 1, 40)
    plain = dpp_rerank(r, feats, 10, 0.6, ALL)
    assert dpp_rerank(r, feats, 10, 0.6, ALL, window=10) == plain
    assert dpp_rerank(r, feats, 10, 0.6, ALL, window=50) == plain


def test_theta_zero_is_the_relevance_order_exactly():
    rng = np.random.default_rng(1)
    feats = random_features(rng, 30)
    r = rng.integers(0, 5, 30).astype(float)          # many ties: broken by index
    assert dpp_rerank(r, feats, 30, 0.0, ALL) == np.argsort(-r, kind="stable").tolist()
    distinct = rng.permutation(30) / 30.0               # theta -> 0 tends to it (ties aside)
    for theta in (1e-300, 1e-6):
        assert dpp_rerank(distinct, feats, 10, theta, ALL) == np.argsort(-distinct)[:10].tolist()


def test_growing_theta_spreads_skin_tone_ranges():
    rng = np.random.default_rng(3)
    n, k = 40, 8
    skin = [1] * 20 + [2, 3, 4] * 6 + [None, None]
    r = np.where(np.array([s == 1 for s in skin]), rng.uniform(0.8, 1.0, n), rng.uniform(0.3, 0.6, n))
    feats = DiversityFeatures.from_items(rng.normal(size=(n, 32)), skin, [None] * n, [None] * n)
    weights = {"visual": 0.5, "skin_tone": 1.0}
    distinct = [len({skin[i] for i in dpp_rerank(r, feats, k, theta, weights)})
                for theta in (0.0, 0.1, 0.3, 0.6, 0.9)]
    assert distinct[0] == 1 and distinct == sorted(distinct) and distinct[-1] >= 4


def test_duplicates_wait_until_distinct_items_are_used():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(8, 16))
    vecs[1] = vecs[2] = vecs[0]                          # items 0-2 identical, the most relevant
    r = np.array([1.0, 0.99, 0.98, 0.5, 0.4, 0.3, 0.2, 0.1])
    feats = DiversityFeatures.from_items(vecs, [1] * 8, [2] * 8, ["red"] * 8)
    picks = dpp_rerank(r, feats, 8, 0.2, {"visual": 1.0})
    assert picks[:6] == [0, 3, 4, 5, 6, 7] and picks[6:] == [1, 2]   # then filled by relevance
    assert len(dpp_rerank(r, feats, 3, 0.9, {"visual": 1.0})) == 3


def test_unknown_is_weakly_alike_and_featureless_items_are_orthogonal():
    vecs = np.eye(6)
    vecs[5] = 0.0                                        # no visual vector
    feats = DiversityFeatures.from_items(vecs, [1, 1, None, None, 2, None], [None] * 6, [None] * 6)
    s = similarity_matrix(feats, {"visual": 1.0, "skin_tone": 1.0})
    assert s[0, 1] == pytest.approx(0.5) and s[2, 3] == pytest.approx(0.1 / 1.1)
    assert s[0, 2] == 0 and s[0, 4] == 0 and np.allclose(np.diag(s), 1.0)
    assert s[5, 2] == pytest.approx(0.1 / np.sqrt(1.1 * 0.1))   # its unknown range is all it has
    assert np.linalg.eigvalsh(s).min() > 0


def test_colour_families_cover_the_palette():
    assert set(COLOR_FAMILIES) == set(NAMED_COLORS)
    assert set(COLOR_FAMILIES.values()) == set(COLOR_FAMILY_NAMES)


def test_bad_input():
    rng = np.random.default_rng(0)
    feats, r = random_features(rng, 5), rng.uniform(0, 1, 5)
    with pytest.raises(ValueError, match="NaN"):
        dpp_rerank(np.array([1.0, np.nan, 0, 0, 0]), feats, 3, 0.5, ALL)
    with pytest.raises(ValueError, match="NaN"):
        DiversityFeatures.from_items([[0.0, np.inf]], [1], [1], ["red"])
    with pytest.raises(ValueError, match="not PSD"):
        dpp_rerank(r, feats, 3, 0.5, {"visual": 1.0, "skin_tone": -0.1})
    with pytest.raises(ValueError, match="unknown dimensions"):
        dpp_rerank(r, feats, 3, 0.5, {"skin": 1.0})
    for k in (0, -2):
        with pytest.raises(ValueError, match="k"):
            dpp_rerank(r, feats, k, 0.5, ALL)
    for theta in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="theta"):
            dpp_rerank(r, feats, 3, theta, ALL)
    with pytest.raises(ValueError, match="window"):
        dpp_rerank(r, feats, 3, 0.5, ALL, window=0)
    with pytest.raises(ValueError, match="skin_ranges"):
        DiversityFeatures.from_items(np.ones((1, 2)), [5], [1], ["red"])
    with pytest.raises(ValueError, match="colour_families"):
        DiversityFeatures.from_items(np.ones((1, 2)), [1], [1], ["plaid"])
    empty = DiversityFeatures.from_items([], [], [], [])
    assert dpp_rerank(np.zeros(0), empty, 5, 0.5, ALL) == []
    assert sorted(dpp_rerank(r, feats, 50, 0.5, ALL)) == list(range(5))   # k > N: N items
