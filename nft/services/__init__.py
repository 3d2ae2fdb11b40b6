"""Use cases of the chain layer (one public function per use case)."""
