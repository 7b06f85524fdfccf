"""One module per paper; each exports CHECKS."""
