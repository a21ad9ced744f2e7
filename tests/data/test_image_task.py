"""ImageStream on the digits task: epochs are permutations, a saved position resumes exactly, batches are x/127.5-1."""

import pytest
import torch

from benchbox.registry import DATASETS
from benchmarks.digits import TASK

CPU = torch.device("cpu")
N_TRAIN = 1442  # scikit-learn's digits minus every fifth image of each class (benchbox/data/digits.py)
BATCH = 103  # 1442 = 14 × 103: fourteen batches make exactly one epoch


def stream(seed=0):
    return TASK.stream(seed, CPU)


def draw(s, sizes):
    return [s.indices(n) for n in sizes]


def test_the_training_split_is_the_one_the_stream_reads():
    s = stream()
    assert s.size == N_TRAIN and len(DATASETS["digits"]("train").labels) == N_TRAIN
    assert torch.equal(s.images, DATASETS["digits"]("train").images)


def test_one_epoch_of_batches_visits_every_index_exactly_once():
    epoch = torch.cat(draw(stream(), [BATCH] * 14))
    assert len(epoch) == N_TRAIN
    counts = torch.bincount(epoch, minlength=N_TRAIN)
    assert counts.tolist() == [1] * N_TRAIN
    assert not torch.equal(epoch, torch.arange(N_TRAIN))  # shuffled, not the file order


def test_batches_of_uneven_size_still_cover_an_epoch_once():
    sizes = [1, 500, 64, 877]  # sums to 1442
    epoch = torch.cat(draw(stream(), sizes))
    assert sorted(epoch.tolist()) == list(range(N_TRAIN))


def test_consecutive_epochs_use_different_permutations():
    s = stream()
    epochs = [s.indices(N_TRAIN) for _ in range(3)]
    for e in epochs:
        assert sorted(e.tolist()) == list(range(N_TRAIN))  # each epoch is a permutation
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])
    assert not torch.equal(epochs[0], epochs[2])


def test_a_batch_across_the_epoch_boundary_ends_one_permutation_and_starts_the_next():
    whole = stream().indices(2 * N_TRAIN)
    s = stream()
    s.indices(N_TRAIN - 10)
    across = s.indices(30)
    assert torch.equal(across, whole[N_TRAIN - 10 : N_TRAIN + 20])
    assert s.state() == {"drawn": N_TRAIN + 20}


@pytest.mark.parametrize("k", [0, 3, 13, 14, 15], ids=lambda k: f"after{k}")
def test_a_saved_state_loaded_into_a_fresh_stream_continues_identically(k):
    """Five batches of 103 after k: k = 13 crosses the first epoch's end, k = 14 starts exactly on it, k = 15 is inside
    the second epoch."""
    uninterrupted = stream()
    draw(uninterrupted, [BATCH] * k)
    saved = uninterrupted.state()
    expected = [uninterrupted.next(BATCH, labels=True) for _ in range(5)]

    resumed = stream()
    resumed.load_state(saved)
    for want_images, want_labels in expected:
        images, labels = resumed.next(BATCH, labels=True)
        assert torch.equal(images, want_images) and torch.equal(labels, want_labels)
    assert resumed.state() == uninterrupted.state()


def test_state_survives_a_round_trip_through_torch_save(tmp_path):
    s = stream()
    s.indices(1000)
    torch.save(s.state(), tmp_path / "state.pt")
    expected = s.indices(700)  # crosses the epoch boundary at 1442
    fresh = stream()
    fresh.load_state(torch.load(tmp_path / "state.pt", weights_only=True))
    assert torch.equal(fresh.indices(700), expected)


def test_next_returns_float32_images_over_127_5_minus_1_with_their_labels():
    data = DATASETS["digits"]("train")
    index_twin, s = stream(), stream()
    for n in (200, 1442, 57):  # the second batch crosses into epoch 1
        idx = index_twin.indices(n)
        images, labels = s.next(n, labels=True)
        assert images.dtype == torch.float32 and images.shape == (n, 1, 8, 8)
        assert images.min() >= -1.0 and images.max() <= 1.0
        reference = data.images[idx].to(torch.float64) / 127.5 - 1.0
        torch.testing.assert_close(images.to(torch.float64), reference, rtol=0, atol=1e-6)
        assert torch.equal(labels, data.labels[idx])
    # pixel 0 maps to exactly -1 and 255 to exactly +1
    whole = stream().next(N_TRAIN)
    assert whole.min().item() == -1.0 and whole.max().item() == 1.0


def test_next_without_labels_gives_the_images_alone():
    with_labels, alone = stream(3).next(50, labels=True), stream(3).next(50)
    assert isinstance(alone, torch.Tensor) and torch.equal(alone, with_labels[0])


def test_different_seeds_give_different_orders_and_one_seed_the_same():
    a, b, again = stream(0).indices(N_TRAIN), stream(1).indices(N_TRAIN), stream(0).indices(N_TRAIN)
    assert torch.equal(a, again)
    assert not torch.equal(a, b)
    assert (a == b).float().mean() < 0.05  # not merely a shifted or mostly shared order
