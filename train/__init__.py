"""Training: backbones, feature extraction and the image-to-word-vector projection."""
