"""The IB worker: the only process connected to IB (ARCHITECTURE.md "One owner of the IB socket")."""
