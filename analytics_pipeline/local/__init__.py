"""Local development servers: the MongoDB-protocol server and process helpers."""
