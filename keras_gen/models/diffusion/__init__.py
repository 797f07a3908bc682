"""Denoising diffusion: `DiffusionModel`, its noise schedules and its samplers."""

from keras_gen.models.diffusion.diffusion_model import DiffusionModel
