"""followup: post-treatment follow-up for skin clinics."""

__version__ = "0.1.0"
