"""TWS API socket framing, field encoding and message ids.

The TWS API is a stream of messages, each a 4-byte big-endian length followed by NUL-terminated
text fields. A session starts with the client sending the raw bytes ``API\\0`` and one framed
``v<min>..<max>`` version range; the server answers with one framed message of exactly two fields,
``<server version>`` and ``<connection time>``, and from then on both sides exchange framed
messages whose first field is the message id.

Every encoding rule here mirrors what ib_insync's ``decoder.py`` parses: integers as plain digits,
booleans as ``0``/``1``, "unset" doubles and integers as empty fields (the decoder maps an empty
field back to the dataclass default, which is the unset value).
"""

from __future__ import annotations

import math
import struct

from trading.ibsim.contracts import ContractQuery

MIN_CLIENT_VERSION = 157
# 176 is the newest version ib_insync 0.9.86 speaks; ib_async asks for up to 178 and we answer 176,
# which it handles too. Versions 177+ change openOrder/completedOrder/execDetails layouts.
MAX_SERVER_VERSION = 176

UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1

API_PREFIX = b"API\0"

_pack_length = struct.Struct(">I").pack


class In:
    """Ids of the requests a client sends (the first field of each message)."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCOUNT_UPDATES = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DETAILS = 9
    REQ_MKT_DEPTH = 10
    CANCEL_MKT_DEPTH = 11
    REQ_NEWS_BULLETINS = 12
    CANCEL_NEWS_BULLETINS = 13
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQUEST_FA = 18
    REQ_HISTORICAL_DATA = 20
    REQ_SCANNER_SUBSCRIPTION = 22
    CANCEL_SCANNER_SUBSCRIPTION = 23
    REQ_SCANNER_PARAMETERS = 24
    CANCEL_HISTORICAL_DATA = 25
    REQ_CURRENT_TIME = 49
    REQ_REAL_TIME_BARS = 50
    CANCEL_REAL_TIME_BARS = 51
    REQ_FUNDAMENTAL_DATA = 52
    CANCEL_FUNDAMENTAL_DATA = 53
    REQ_CALC_IMPLIED_VOLAT = 54
    REQ_CALC_OPTION_PRICE = 55
    CANCEL_CALC_IMPLIED_VOLAT = 56
    CANCEL_CALC_OPTION_PRICE = 57
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_POSITIONS_MULTI = 74
    CANCEL_POSITIONS_MULTI = 75
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_SEC_DEF_OPT_PARAMS = 78
    REQ_SOFT_DOLLAR_TIERS = 79
    REQ_FAMILY_CODES = 80
    REQ_MATCHING_SYMBOLS = 81
    REQ_MKT_DEPTH_EXCHANGES = 82
    REQ_SMART_COMPONENTS = 83
    REQ_NEWS_ARTICLE = 84
    REQ_NEWS_PROVIDERS = 85
    REQ_HISTORICAL_NEWS = 86
    REQ_HEAD_TIMESTAMP = 87
    REQ_HISTOGRAM_DATA = 88
    CANCEL_HISTOGRAM_DATA = 89
    CANCEL_HEAD_TIMESTAMP = 90
    REQ_MARKET_RULE = 91
    REQ_PNL = 92
    CANCEL_PNL = 93
    REQ_PNL_SINGLE = 94
    CANCEL_PNL_SINGLE = 95
    REQ_HISTORICAL_TICKS = 96
    REQ_TICK_BY_TICK_DATA = 97
    CANCEL_TICK_BY_TICK_DATA = 98
    REQ_COMPLETED_ORDERS = 99
    REQ_WSH_META_DATA = 100
    CANCEL_WSH_META_DATA = 101
    REQ_WSH_EVENT_DATA = 102
    CANCEL_WSH_EVENT_DATA = 103
    REQ_USER_INFO = 104


class Out:
    """Ids of the messages the gateway sends."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    UPDATE_MKT_DEPTH = 12
    HISTORICAL_DATA = 17
    SCANNER_PARAMETERS = 19
    SCANNER_DATA = 20
    TICK_OPTION_COMPUTATION = 21
    TICK_GENERIC = 45
    TICK_STRING = 46
    CURRENT_TIME = 49
    REAL_TIME_BARS = 50
    FUNDAMENTAL_DATA = 51
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    POSITION_MULTI = 71
    POSITION_MULTI_END = 72
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    SECURITY_DEFINITION_OPTION_PARAMETER = 75
    SECURITY_DEFINITION_OPTION_PARAMETER_END = 76
    SOFT_DOLLAR_TIERS = 77
    FAMILY_CODES = 78
    SYMBOL_SAMPLES = 79
    MKT_DEPTH_EXCHANGES = 80
    TICK_REQ_PARAMS = 81
    SMART_COMPONENTS = 82
    NEWS_PROVIDERS = 85
    HISTORICAL_NEWS_END = 87
    HEAD_TIMESTAMP = 88
    HISTOGRAM_DATA = 89
    HISTORICAL_DATA_UPDATE = 90
    MARKET_RULE = 93
    PNL = 94
    PNL_SINGLE = 95
    HISTORICAL_TICKS = 96
    HISTORICAL_TICKS_BID_ASK = 97
    HISTORICAL_TICKS_LAST = 98
    TICK_BY_TICK = 99
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102
    HISTORICAL_SCHEDULE = 106
    USER_INFO = 107


def fmt(value: object) -> str:
    """Render one field the way TWS does; unset numbers become empty fields."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return "" if value == UNSET_INTEGER else str(value)
    if kind is float:
        return fmt_float(value)  # type: ignore[arg-type]
    return str(value)


def fmt_float(value: float) -> str:
    """Render a float compactly: ``100`` not ``100.0``, at most 8 decimals, unset/NaN as empty."""
    if value != value or value >= UNSET_DOUBLE or math.isinf(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(round(value, 8))


def frame(payload: bytes) -> bytes:
    """Prefix a payload with its 4-byte big-endian length."""
    return _pack_length(len(payload)) + payload


def encode(*fields: object) -> bytes:
    """Encode one complete framed message from its fields."""
    return frame(("\0".join([fmt(f) for f in fields]) + "\0").encode())


def parse_version_range(text: str) -> tuple[int, int]:
    """Parse the client's ``v157..176`` (or ``v176``, optionally followed by connect options)."""
    spec = text.strip().split(" ", 1)[0]
    if not spec.startswith("v"):
        raise ValueError(f"bad version spec {text!r}")
    low, _, high = spec[1:].partition("..")
    return int(low), int(high or low)


def choose_server_version(client_min: int, client_max: int) -> int | None:
    """Pick the newest version both sides speak, or None when the ranges do not overlap."""
    version = min(client_max, MAX_SERVER_VERSION)
    if version < max(client_min, MIN_CLIENT_VERSION):
        return None
    return version


class FrameReader:
    """Split a byte stream into messages (lists of text fields)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[list[str]]:
        """Add received bytes and return every complete message they finish."""
        buffer = self._buffer
        buffer += data
        messages = []
        pos, size = 0, len(buffer)
        while size - pos >= 4:
            end = pos + 4 + int.from_bytes(buffer[pos : pos + 4], "big")
            if end > size:
                break
            parts = bytes(buffer[pos + 4 : end]).decode(errors="backslashreplace").split("\0")
            if parts[-1] == "":
                parts.pop()  # the terminator of the last field (the version handshake has none)
            messages.append(parts)
            pos = end
        del buffer[:pos]
        return messages

    def take_prefix(self, data: bytes) -> bool | None:
        """Consume the ``API\\0`` handshake prefix: True once seen, None while incomplete, False if wrong."""
        self._buffer += data
        if len(self._buffer) < len(API_PREFIX):
            return None if API_PREFIX.startswith(bytes(self._buffer)) else False
        if not self._buffer.startswith(API_PREFIX):
            return False
        del self._buffer[: len(API_PREFIX)]
        return True


class FieldReader:
    """Read a request's fields in order, leniently: a missing trailing field reads as empty."""

    def __init__(self, fields: list[str], start: int = 1) -> None:
        self._fields = fields
        self._pos = start

    @property
    def fields(self) -> list[str]:
        """All fields of the message, the message id first."""
        return self._fields

    def text(self) -> str:
        pos = self._pos
        self._pos = pos + 1
        return self._fields[pos] if pos < len(self._fields) else ""

    def integer(self, default: int = 0) -> int:
        value = self.text()
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            return int(float(value))

    def number(self, default: float = UNSET_DOUBLE) -> float:
        value = self.text()
        if not value:
            return default
        return math.inf if value == "Infinite" else float(value)

    def flag(self) -> bool:
        value = self.text()
        return bool(int(value)) if value else False

    def skip(self, count: int = 1) -> None:
        self._pos += count

    def contract(self) -> ContractQuery:
        """Read the 12 contract fields ib_insync's ``Client.send`` writes for a Contract."""
        return ContractQuery(
            con_id=self.integer(),
            symbol=self.text(),
            sec_type=self.text(),
            last_trade=self.text(),
            strike=self.number(0.0),
            right=self.text(),
            multiplier=self.text(),
            exchange=self.text(),
            primary_exchange=self.text(),
            currency=self.text(),
            local_symbol=self.text(),
            trading_class=self.text(),
        )

    def tag_values(self) -> dict[str, str]:
        """Read a ``tag=value;tag=value;`` field (how ib_insync sends a TagValue list)."""
        pairs = {}
        for item in self.text().split(";"):
            tag, sep, value = item.partition("=")
            if sep:
                pairs[tag.strip()] = value.strip()
        return pairs
