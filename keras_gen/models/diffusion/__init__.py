"""Denoising diffusion: `DiffusionModel` (the network) and `GaussianDiffusion` (its noise process)."""

from keras_gen.models.diffusion.diffusion_model import DiffusionModel
from keras_gen.models.diffusion.process import GaussianDiffusion
