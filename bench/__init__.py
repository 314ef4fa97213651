"""The search benchmark (`make bench`): prints figures, asserts nothing."""
