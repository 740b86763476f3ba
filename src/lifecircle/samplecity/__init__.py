"""Deterministic generator of the sample city (and of large bench cities).

``generate_city(out_dir, seed=2023, ...)`` writes the folder described in
docs/architecture.md ("Sample city"); ``python -m lifecircle.samplecity --out DIR``
does the same from the command line.
"""
from lifecircle.samplecity.generator import DEFAULT_AS_OF, generate_city, stage_rng

__all__ = ["DEFAULT_AS_OF", "generate_city", "stage_rng"]
