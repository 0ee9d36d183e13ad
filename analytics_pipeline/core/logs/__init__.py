"""The log contract: validation of raw documents, window reads and imports, log files."""
