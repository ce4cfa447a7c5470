"""vidline: customer video chat queued natively in Asterisk or FreeSWITCH."""

__version__ = "0.1.0"
