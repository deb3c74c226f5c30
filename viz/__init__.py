"""Pygame visualiser (exhibitions and engineers). Imports ``twin`` and ``agents``; never imported by them."""
