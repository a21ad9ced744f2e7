"""coco-t2i: text-to-image models on COCO 2014 val captions, FID-30K and CLIP score (docs/t2i.md).

Protocol (version 1; every setting in benchbox/t2i/protocol.py):
- Captions: 30,000 of COCO 2014 val's captions, one per image, drawn with seed 0 by SHA-256 ranks
  (benchbox/t2i/captions.py) and written by `benchbox t2i-captions` with the list's SHA-256.
- Real images: the same 30,000 image ids; real and generated images alike: shorter side to 256 (PIL bicubic,
  antialiased), centre 256×256 crop; then the engine's canonical Inception-v3 (pool3, torch-fidelity's resize to 299).
- FID on those features; `fid_zero_shot` for a model that never trained on COCO (`--zero-shot`), the lecture table's
  second column. With other Inception weights the values are `fd_inception_custom` / `fd_zero_shot_inception_custom`.
- CLIP score: open_clip ViT-B-32 with OpenAI's weights, 100·max(cos(image, caption), 0) averaged (torchmetrics'
  scale; Hessel et al.'s 2.5· is 0.025× it); captions over 77 tokens are truncated and counted (`captions_truncated`).
- Models: none trained here. Users score their samples with `benchbox score-t2i`; `benchbox run` refuses the suite.

Reported numbers: the lecture's table, Saharia et al. 2022 (Imagen), Table 1, "COCO FID-30K", in its two columns.
"""

from __future__ import annotations

from benchbox.description import ReportedResult
from benchbox.metrics.clip_score import CLIP_SCORE
from benchbox.registry import register_suite
from benchbox.suite import Suite
from benchbox.t2i.protocol import (
    CAPTIONS_TRUNCATED,
    FD_ZERO_SHOT,
    PROTOCOL_VERSION,
    SCORED_BY,
    SUITE_NAME,
    CocoCaptionsTask,
    ScoredEvaluation,
)

TASK = CocoCaptionsTask()
IMAGEN = "Saharia et al. 2022 (Imagen), Table 1"
IMAGEN_PAPER = (
    'Saharia et al. 2022, "Photorealistic Text-to-Image Diffusion Models with Deep Language Understanding", '
    "Table 1 (COCO FID-30K)"
)

# (method, FID-30K after training on COCO, zero-shot FID-30K, where the figure comes from), as Imagen's Table 1 lists
# them: its first column holds models trained on COCO's training split, its second models that never saw COCO.
# Each figure is the one Imagen prints; the note names the method's own paper, which Imagen cites for it.
LECTURE_TABLE = (
    # AttnGAN's paper reports no FID: 35.49 is the figure DM-GAN's paper (Zhu et al. 2019) measured for it.
    ("AttnGAN", 35.49, None, "Xu et al. 2018, AttnGAN (as measured by Zhu et al. 2019)"),
    ("DM-GAN", 32.64, None, "Zhu et al. 2019, DM-GAN"),
    ("DF-GAN", 21.42, None, "Tao et al. 2022, DF-GAN"),
    ("DM-GAN+CL", 20.79, None, "Ye et al. 2021, contrastive learning for text-to-image GANs"),
    ("XMC-GAN", 9.33, None, "Zhang et al. 2021, XMC-GAN"),
    ("LAFITE", 8.12, 26.94, "Zhou et al. 2022, LAFITE: both columns (trained on COCO; language-free zero-shot)"),
    ("Make-A-Scene", 7.55, None, "Gafni et al. 2022, Make-A-Scene"),
    # Imagen lists DALL-E zero-shot at 17.89; DALL-E's own paper (Ramesh et al. 2021) shows its FID only in a figure
    # (about 28, as GLIDE's and DALL-E 2's tables quote it), so 17.89 is another measurement of the same model.
    ("DALL-E", None, 17.89, "Ramesh et al. 2021, DALL-E (zero-shot; figure as Imagen lists it)"),
    ("GLIDE", None, 12.24, "Nichol et al. 2022, GLIDE (zero-shot)"),
    ("DALL-E 2", None, 10.39, "Ramesh et al. 2022, DALL-E 2 / unCLIP (zero-shot)"),
    ("Imagen", None, 7.27, "Saharia et al. 2022, Imagen (zero-shot)"),
)
FID = "fid"  # the catalogue's name of FD in canonical Inception space
FID_ZERO_SHOT = FD_ZERO_SHOT.name("")  # fid_zero_shot

REPORTED = tuple(
    ReportedResult(IMAGEN, method, TASK.name, metric, value, note=f"from {origin}")
    for method, trained, zero_shot, origin in LECTURE_TABLE
    for metric, value in ((FID, trained), (FID_ZERO_SHOT, zero_shot))
    if value is not None
)

SUITE = register_suite(
    Suite(
        name=SUITE_NAME,
        version=PROTOCOL_VERSION,
        description="COCO FID-30K (column fid: the model trained on COCO; fid_zero_shot: it never did) and CLIP "
        "score of text-to-image models benchbox does not train, scored from users' samples by `benchbox score-t2i` "
        "(docs/t2i.md).",
        tasks=(TASK,),
        models=(),
        budgets=(),
        metrics=(),
        n_eval=30_000,
        reported=REPORTED,
        references=(IMAGEN_PAPER,),
        evaluation=ScoredEvaluation((FID, FID_ZERO_SHOT, CLIP_SCORE.name("vit_b_32"), CAPTIONS_TRUNCATED.name())),
        scored_by=SCORED_BY,
    )
)
