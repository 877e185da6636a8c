"""The model: frozen backbones, feature extraction, ConSE, the projection head and trained-model files."""
