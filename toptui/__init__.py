"""toptui: a top for long-running services that tells you which process is leaking memory."""

__version__ = "0.1.0"
