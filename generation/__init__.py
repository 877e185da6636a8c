"""Synthetic training images from diffusers text-to-image pipelines: the plan, the pipeline, the `generate` verb.

Named `generation` rather than `generate` so that the package never shadows
the `devise.generate` verb on the package root. Layer: beside models (it uses
core and data); its Ray actors live in devise.engines.
"""
