"""benchbox: fixed, versioned benchmark protocols for generative models, scored by one engine."""

__version__ = "0.1.0"
