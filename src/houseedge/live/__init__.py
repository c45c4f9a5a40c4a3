"""The async live engine, its ledger, journal and service."""
