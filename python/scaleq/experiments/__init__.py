"""Experiments behind ``scaleq demo`` and ``scaleq reproduce``."""
