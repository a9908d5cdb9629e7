"""Use cases: plain functions that own their transactions and raise domain errors."""
