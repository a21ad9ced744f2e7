"""Super-resolution reference models: the bicubic baseline, SRResNet and SRGAN (Ledig et al. 2017; one model kind,
`srgan`, whose content and adversarial losses are config fields, so SRResNet is SRGAN without its adversary), and an
SR3-style conditional DDPM (Saharia et al. 2021) built from the diffusion pieces.

Every SR model implements `upscale(lr, generator) -> hr`: float N×C×h×w in [−1, 1] to N×C×(f·h)×(f·w), and trains on
(lr, hr) batches of a paired task (benchbox.sr.task).
"""
