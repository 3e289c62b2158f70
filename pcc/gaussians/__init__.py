"""3D Gaussian Splatting: the model container, spherical harmonics, the renderer and the trainer."""
