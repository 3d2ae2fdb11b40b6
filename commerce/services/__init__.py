"""Commerce use cases: one public, keyword-only, transactional function per use case."""
