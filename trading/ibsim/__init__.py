"""A paper IB Gateway: speaks the TWS API socket protocol so unmodified ib_insync can trade against it.

No Django in here and no imports from the rest of the project: the console uses it as a gateway,
the tests as a fixture and the benchmarks as a load generator. See README.md in this folder.
"""

from trading.ibsim.config import GatewayConfig
from trading.ibsim.server import PaperGateway

__all__ = ["GatewayConfig", "PaperGateway"]
