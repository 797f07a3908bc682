"""Sample-quality metrics (FID, IS, KID, precision/recall, density/coverage), the
feature extractors they are defined on, and held-out log-likelihoods."""

from keras_gen.metrics import video  # frame_metrics, copy_last_frame
from keras_gen.metrics.extractor_base import FeatureExtractor
from keras_gen.metrics.feature_stats import FeatureStats, check_comparable
from keras_gen.metrics.frechet import fid_from_features, frechet_distance
from keras_gen.metrics.inception import InceptionFID, KerasInceptionV3
from keras_gen.metrics.likelihood import (
    bits_per_dimension,
    evidence_lower_bound,
    held_out_bits_per_dim,
    importance_weighted_log_likelihoods,
    log_likelihood,
)
from keras_gen.metrics.manifold import density_coverage, precision_recall
from keras_gen.metrics.mnist_classifier import MNISTClassifier
from keras_gen.metrics.multimodal import clip_score, image_prompt_agreement, prompt_fidelity
from keras_gen.metrics.music import compare_music, jensen_shannon, music_statistics
from keras_gen.metrics.sample_metrics import (
    SAMPLE_METRICS,
    SampleMetrics,
    data_metrics,
    evaluate_model,
)
from keras_gen.metrics.scores import inception_score, kernel_inception_distance
from keras_gen.metrics.text import BitsPerByte, text_metrics
