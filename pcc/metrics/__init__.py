"""Quality metrics: images (PSNR, SSIM) for 3DGS, point-cloud geometry for the codec, BD-rate.

Bottom layer of ``pcc``: imports nothing above :mod:`pcc.errors` and :mod:`pcc.io`.
Image metrics live in :mod:`pcc.metrics.image`, point-cloud geometry in
:mod:`pcc.metrics.pointcloud`, rates and Pareto fronts in :mod:`pcc.metrics.rate`, BD-rate in
:mod:`pcc.metrics.bd`.
"""
