"""Data sources: where row blocks come from and how partial sums are added up."""
