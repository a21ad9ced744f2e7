"""CLIP guidance: the ε shift against a finite-difference gradient, its direction, and a tiny random open_clip model
loaded as the metric engine's CLIP extractor."""

import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.testing import tiny_clip_extractor
from reference_models.diffusion.guidance import clip_guided_eps, clip_image_embedding, cosine_similarity
from reference_models.diffusion.samplers import sample
from reference_models.diffusion.schedule import NoiseSchedule, linear_betas, predict_x0

SCHEDULE = NoiseSchedule.from_betas(linear_betas(100))
W = torch.randn(4, 2 * 3 * 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def linear_embed(x):
    return x.flatten(1) @ W.T


def const_eps(x, t):
    return 0.1 * torch.ones_like(x)


def test_scale_0_is_the_unguided_prediction():
    x, t = torch.randn(3, 2, 3, 3, dtype=torch.float64), torch.tensor([5, 50, 90])
    text = torch.randn(3, 4, dtype=torch.float64)
    assert torch.equal(clip_guided_eps(const_eps, SCHEDULE, linear_embed, text, 0.0)(x, t), const_eps(x, t))


def test_shift_is_the_finite_difference_gradient_of_the_similarity():
    g = torch.Generator().manual_seed(1)
    x, t = 0.3 * torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64), torch.tensor([10, 60])
    text = torch.randn(2, 4, generator=g, dtype=torch.float64)
    scale = 2.0
    shift = const_eps(x, t) - clip_guided_eps(const_eps, SCHEDULE, linear_embed, text, scale)(x, t)

    def sim(y):  # x̂_0 stays inside (−1, 1) here, so the clamp is inactive
        return cosine_similarity(linear_embed, predict_x0(SCHEDULE, y, t, const_eps(y, t)), text).sum()

    h, numeric = 1e-6, torch.zeros_like(x)
    for i in range(x.numel()):
        e = torch.zeros(x.numel(), dtype=torch.float64)
        e[i] = h
        numeric.view(-1)[i] = (sim(x + e.view_as(x)) - sim(x - e.view_as(x))) / (2 * h)
    root = (1 - SCHEDULE.alpha_bars[t - 1]).sqrt().view(-1, 1, 1, 1)
    torch.testing.assert_close(shift, scale * root * numeric, rtol=1e-6, atol=1e-9)


def test_a_small_step_along_the_guidance_raises_the_similarity():
    g = torch.Generator().manual_seed(2)
    x, t = 0.3 * torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64), torch.full((4,), 30)
    text = torch.randn(4, 4, generator=g, dtype=torch.float64)
    guided = clip_guided_eps(const_eps, SCHEDULE, linear_embed, text, 1.0)(x, t)
    step = -(guided - const_eps(x, t))  # the guidance shift lowers ε, i.e. moves x̂_0 up the similarity
    x0 = predict_x0(SCHEDULE, x, t, const_eps(x, t))
    before = cosine_similarity(linear_embed, x0, text)
    after = cosine_similarity(linear_embed, x0 + 1e-3 * step, text)
    assert (after > before).all()


def test_non_finite_scale_is_refused():
    with pytest.raises(BenchboxError, match="not a finite number"):
        clip_guided_eps(const_eps, SCHEDULE, linear_embed, torch.zeros(1, 4), float("nan"))


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return tiny_clip_extractor(tmp_path_factory.mktemp("clip"), "bbx-tiny-clip-guidance")


def test_embedding_follows_the_extractor_and_guided_sampling_raises_the_score(tiny_clip):
    """The smooth preprocessing gives embeddings within a few % of the extractor's (which rounds to 8 bits); and
    sampling with CLIP guidance ends at images the caption matches better than unguided sampling's."""
    images = torch.randint(0, 256, (4, 1, 32, 32), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    embed = clip_image_embedding(tiny_clip)
    with torch.no_grad():
        ours = embed(images.float() / 127.5 - 1)
        theirs = tiny_clip.features(images)["pool"]
    assert torch.nn.functional.cosine_similarity(ours, theirs, dim=1).min().item() > 0.98
    text = tiny_clip.text_features(["a photo of a shoe"] * 8)
    schedule = NoiseSchedule.from_betas(linear_betas(50, 1e-3, 0.2))

    def eps(x, t):  # the exact predictor for data ~ N(0, 0.5²): a fixed network, so only guidance differs
        a = schedule.alpha_bars[t.long() - 1].view(-1, 1, 1, 1)
        return (1 - a).sqrt() * x / (a * 0.25 + 1 - a)

    def run(scale):
        guided = clip_guided_eps(eps, schedule, embed, text, scale)
        x = sample(guided, schedule, (8, 1, 32, 32), torch.Generator().manual_seed(4), "ddim", 20)
        with torch.no_grad():
            return cosine_similarity(embed, x.clamp(-1, 1), text).mean().item()

    guided, unguided = run(200.0), run(0.0)
    assert guided > unguided + 0.01, (guided, unguided)
