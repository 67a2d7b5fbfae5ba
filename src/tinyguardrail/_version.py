"""The package version: the one place it is written (``pyproject.toml`` reads it from here at build time).

It follows the shipped model's version: package 0.17.x ships model v0.17; patch releases fix the code only.
"""

__version__ = "0.17.0"
