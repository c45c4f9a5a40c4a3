"""Pure, synchronous core: types, features, policies, sizing, costs, execution and risk.

Nothing here does I/O or imports another houseedge package.
"""
