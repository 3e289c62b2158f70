"""Quality metrics: images (PSNR, SSIM) for 3DGS, point-cloud geometry for the codec, BD-rate.

Bottom layer of ``pcc``: imports nothing above :mod:`pcc.errors` and :mod:`pcc.io`.
Image metrics live in :mod:`pcc.metrics.image`.
"""
