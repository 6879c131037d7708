"""The DVAO paper's propositions as functions (filled in below)."""
