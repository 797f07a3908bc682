"""Sample-quality metrics (FID, IS, KID, precision/recall, density/coverage), the
feature extractors they are defined on, and held-out log-likelihoods."""

from keras_gen.metrics.feature_stats import FeatureStats
from keras_gen.metrics.feature_stats import check_comparable
from keras_gen.metrics.frechet import fid_from_features
from keras_gen.metrics.frechet import frechet_distance
from keras_gen.metrics.inception import InceptionFID
from keras_gen.metrics.inception import KerasInceptionV3
from keras_gen.metrics.likelihood import bits_per_dimension
from keras_gen.metrics.likelihood import evidence_lower_bound
from keras_gen.metrics.likelihood import importance_weighted_log_likelihoods
from keras_gen.metrics.likelihood import log_likelihood
from keras_gen.metrics.manifold import density_coverage
from keras_gen.metrics.manifold import precision_recall
from keras_gen.metrics.mnist_classifier import MNISTClassifier
from keras_gen.metrics.scores import inception_score
from keras_gen.metrics.scores import kernel_inception_distance
from keras_gen.metrics.streaming import DensityCoverage
from keras_gen.metrics.streaming import FrechetDistance
from keras_gen.metrics.streaming import InceptionScore
from keras_gen.metrics.streaming import KernelInceptionDistance
from keras_gen.metrics.streaming import PrecisionRecall
from keras_gen.metrics.text import BitsPerByte
from keras_gen.metrics.text import text_metrics
