"""Learned point-cloud geometry codec after GEOv2 / DeepCompress (Quach et al. 2020; Killea et al. 2021).

A voxel block x [1, 1, S, S, S] is mapped by a 3D-CNN analysis transform to a latent y = g_a(x)
(32^3 blocks with 3 stride-2 stages give y [1, N, 4, 4, 4]); an entropy model from
``pcc.codec.entropy`` (gaussian, hyperprior, channel, context, attention, hybrid) quantises y to
y_hat, estimates its rate and writes it as a real bitstream (``pcc.codec.coding``, constriction);
the synthesis transform gives occupancy probabilities x_hat = g_s(y_hat), decoded by top-k or an
RD-optimal threshold. See ``research/pc_codec.md`` and the notebooks ``notebooks/11_learned_codec``
(transforms), ``12_entropy_models`` (entropy models, causality, real sizes), ``13_training`` and
``14_rate_distortion``.
"""
