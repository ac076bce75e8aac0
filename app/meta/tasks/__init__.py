"""Task families: samplers that return batches of support and query sets."""
