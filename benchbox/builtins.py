"""The built-in entries of every registry, in one place: importing this module registers them all.

Each module below registers what it defines where it defines it (a metric family and its catalogue values, a feature
space, a dataset, a model kind, a GAN loss, a suite). The front doors (the CLI, the runner, the suite loader, the
report, `benchbox.scoring`) import this module; the modules it lists never do, so nothing here is imported in a cycle.
A new built-in adds one line here; code outside the package registers its own entries by being imported.
"""

from __future__ import annotations

from benchbox import model_metrics, pipeline, uncertainty  # noqa: F401  (class accuracy, model values, FD∞/IS∞)
from benchbox.data import cifar10, digits, fashion_mnist  # noqa: F401  (datasets)
from benchbox.features import clip, dinov2, domain_classifier, inception  # noqa: F401  (feature spaces)
from benchbox.metrics import (  # noqa: F401
    classes,
    clip_score,
    distances,
    frechet,
    inception_score,
    kid,
    modes,
    prdc,
    super_resolution,
)
from benchmarks import cifar10 as cifar10_suite  # noqa: F401, I001  (suites, last: they use all of the above)
from benchmarks import coco_t2i as coco_t2i_suite  # noqa: F401  (scored only: benchbox score-t2i)
from benchmarks import digits as digits_suite  # noqa: F401
from benchmarks import fashion_mnist as fashion_mnist_suite  # noqa: F401
from benchmarks import sr as sr_suite  # noqa: F401
from benchmarks import toy2d  # noqa: F401
from reference_models import ae, vae  # noqa: F401  (model kinds)
from reference_models.diffusion import model as diffusion_model  # noqa: F401
from reference_models.gan import image_gan, losses  # noqa: F401  (model kinds, GAN losses)
from reference_models.gan import model as gan_model  # noqa: F401
from reference_models.sr import bicubic, sr3, srgan  # noqa: F401
