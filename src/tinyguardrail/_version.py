"""The package version: the one place it is written (``pyproject.toml`` reads it from here at build time).

It follows the shipped model's version: package 0.13.x ships model v0.13; patch releases fix the code only.
"""

__version__ = "0.13.0"
