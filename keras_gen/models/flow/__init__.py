"""Normalizing flows: exact log-likelihood, trained with fit()."""

from keras_gen.models.flow.flow_model import FlowModel
from keras_gen.models.flow.glow import Glow
from keras_gen.models.flow.realnvp import RealNVP

__all__ = ["FlowModel", "Glow", "RealNVP"]
