"""The trading domain's tables: they replace the seed's Firestore collections (ARCHITECTURE.md)."""

from trading.models.activity import ActivityEntry, ActivityKind
from trading.models.auth import ApiToken
from trading.models.backtest import Backtest, BacktestStatus, Bar
from trading.models.config import ConfigScope, Strategy, TradingConfig, TradingMode
from trading.models.connections import DEFAULT_CONNECTION, IBConnection
from trading.models.notify import NotifyCursor, NotifyKind, NotifySend, NotifyTarget, SendStatus
from trading.models.performance import EquityResolution, EquitySnapshot
from trading.models.records import (
    AccountValue,
    Fill,
    Holding,
    Order,
    OrderAction,
    OrderStatus,
    PortfolioSnapshot,
    Position,
    PositionSnapshot,
)
from trading.models.runs import AllocationDecision, IntentRun, RunSource, RunStatus, StrategyTarget, TargetStatus
from trading.models.worker import HandlerStat, WorkerHeartbeat, WorkerLease

__all__ = [
    "AccountValue",
    "ActivityEntry",
    "ActivityKind",
    "AllocationDecision",
    "ApiToken",
    "Backtest",
    "BacktestStatus",
    "Bar",
    "ConfigScope",
    "DEFAULT_CONNECTION",
    "EquityResolution",
    "EquitySnapshot",
    "Fill",
    "HandlerStat",
    "IBConnection",
    "Holding",
    "IntentRun",
    "Order",
    "NotifyCursor",
    "NotifyKind",
    "NotifySend",
    "NotifyTarget",
    "OrderAction",
    "OrderStatus",
    "PortfolioSnapshot",
    "Position",
    "PositionSnapshot",
    "RunSource",
    "SendStatus",
    "RunStatus",
    "Strategy",
    "StrategyTarget",
    "TargetStatus",
    "TradingConfig",
    "TradingMode",
    "WorkerHeartbeat",
    "WorkerLease",
]
