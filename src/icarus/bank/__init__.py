"""The known-material bank: hash-set formats, the store, exact and perceptual indexes."""
