"""potrack: production order tracking for factories."""

__version__ = '0.1.0'
