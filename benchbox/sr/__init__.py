"""Super-resolution as a suite: a degradation that makes low-resolution inputs from a dataset's images
(`degrade.py`), the paired task the runner trains on (`task.py`), and the evaluation that scores upscaled test images
against their originals (`evaluation.py`): PSNR/SSIM on a stated channel with a stated border shave, and a distance
between the upscaled and the original images' distributions in the domain classifier's space.
"""
