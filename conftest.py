"""Root pytest configuration (the test namespace is set earlier, by tests/pytest_env.py)."""

# The paper gateway fixture (`paper_gateway`) for every test that needs "IB".
pytest_plugins = ["trading.ibsim.testing"]
