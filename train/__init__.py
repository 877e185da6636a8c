"""Training: labelled folders to a calibrated projection head. `devise.train(...)` runs it.

Layer: below index/search/curate, above data and models.
"""
from devise.core.lazy import verb_package

verb_package(__name__, "devise.train.run", "train")
