"""The instruments the paper gateway lists: the S&P 100, the main ETFs, major FX pairs, indexes and
the front futures (options are generated from :mod:`trading.ibsim.options`).

conIds: a number in the ``ib`` column is IB's own conId for that listing (so code written here keeps
working against a real account); ``None`` means the gateway's own stable made-up number,
``900_000_000 + crc32(symbol) % 90_000_000`` (see :func:`made_up_con_id`), which never changes as
the table grows. Prices and volatilities are only starting points for the random walk. ``since`` is
the first day of history (reqHeadTimeStamp): the listing date where it is well known, otherwise a
stable made-up date.
"""

from __future__ import annotations

import zlib

MADE_UP_BASE = 900_000_000


def made_up_con_id(key: str) -> int:
    """The gateway's own conId for a listing without a known IB conId (stable across releases)."""
    return MADE_UP_BASE + zlib.crc32(key.encode()) % 90_000_000


# symbol, IB conId or None, primary exchange, long name, price, annual vol, industry, category, since
STOCKS = (
    ("AAPL", 265598, "NASDAQ", "APPLE INC", 225.0, 0.28, "Technology", "Computers", "19801212"),
    ("MSFT", 272093, "NASDAQ", "MICROSOFT CORP", 420.0, 0.26, "Technology", "Software", "19860313"),
    ("NVDA", 4815747, "NASDAQ", "NVIDIA CORP", 120.0, 0.50, "Technology", "Semiconductors", "19990122"),
    ("TSLA", 76792991, "NASDAQ", "TESLA INC", 240.0, 0.55, "Consumer, Cyclical", "Auto Manufacturers", "20100629"),
    ("AMZN", 3691937, "NASDAQ", "AMAZON.COM INC", 185.0, 0.32, "Communications", "Internet", "19970515"),
    ("AMD", 4391, "NASDAQ", "ADVANCED MICRO DEVICES", 150.0, 0.50, "Technology", "Semiconductors", "19800317"),
    ("INTC", 270639, "NASDAQ", "INTEL CORP", 22.0, 0.40, "Technology", "Semiconductors", "19800317"),
    ("GOOGL", 208813719, "NASDAQ", "ALPHABET INC-CL A", 170.0, 0.30, "Communications", "Internet", "20040819"),
    ("GOOG", 208813720, "NASDAQ", "ALPHABET INC-CL C", 172.0, 0.30, "Communications", "Internet", "20140327"),
    ("META", 107113386, "NASDAQ", "META PLATFORMS INC-CLASS A", 560.0, 0.38, "Communications", "Internet", "20120518"),
    ("NFLX", 15124833, "NASDAQ", "NETFLIX INC", 700.0, 0.38, "Communications", "Internet", "20020523"),
    ("IBM", 8314, "NYSE", "INTL BUSINESS MACHINES CORP", 210.0, 0.22, "Technology", "Computers", "19800317"),
    ("CSCO", 268084, "NASDAQ", "CISCO SYSTEMS INC", 55.0, 0.24, "Communications", "Telecommunications", "19900216"),
    ("ORCL", 272800, "NYSE", "ORACLE CORP", 170.0, 0.30, "Technology", "Software", "19860312"),
    ("JPM", 1520593, "NYSE", "JPMORGAN CHASE & CO", 220.0, 0.24, "Financial", "Banks", "19800317"),
    ("BAC", 10098, "NYSE", "BANK OF AMERICA CORP", 42.0, 0.28, "Financial", "Banks", "19800317"),
    ("KO", 8894, "NYSE", "COCA-COLA CO/THE", 68.0, 0.16, "Consumer, Non-cyclical", "Beverages", "19800317"),
    ("XOM", 13977, "NYSE", "EXXON MOBIL CORP", 115.0, 0.26, "Energy", "Oil&Gas", "19800317"),
    ("BA", 4762, "NYSE", "BOEING CO/THE", 160.0, 0.36, "Industrial", "Aerospace/Defense", "19800317"),
    ("WMT", 13824, "NYSE", "WALMART INC", 80.0, 0.20, "Consumer, Cyclical", "Retail", "19800317"),
    ("ABBV", None, "NYSE", "ABBVIE INC", 190.0, 0.24, "Consumer, Non-cyclical", "Pharmaceuticals", "20130102"),
    ("ABT", None, "NYSE", "ABBOTT LABORATORIES", 115.0, 0.20, "Consumer, Non-cyclical", "Healthcare-Products", ""),
    ("ACN", None, "NYSE", "ACCENTURE PLC-CL A", 350.0, 0.26, "Technology", "Computers", "20010719"),
    ("ADBE", None, "NASDAQ", "ADOBE INC", 520.0, 0.32, "Technology", "Software", ""),
    ("AIG", None, "NYSE", "AMERICAN INTERNATIONAL GROUP", 75.0, 0.26, "Financial", "Insurance", ""),
    ("AMGN", None, "NASDAQ", "AMGEN INC", 320.0, 0.24, "Consumer, Non-cyclical", "Biotechnology", ""),
    ("AMT", None, "NYSE", "AMERICAN TOWER CORP", 210.0, 0.26, "Financial", "REITS", ""),
    ("AVGO", None, "NASDAQ", "BROADCOM INC", 170.0, 0.45, "Technology", "Semiconductors", "20090806"),
    ("AXP", None, "NYSE", "AMERICAN EXPRESS CO", 260.0, 0.26, "Financial", "Diversified Finan Serv", ""),
    ("BK", None, "NYSE", "BANK OF NEW YORK MELLON CORP", 70.0, 0.24, "Financial", "Banks", ""),
    ("BKNG", None, "NASDAQ", "BOOKING HOLDINGS INC", 4000.0, 0.30, "Communications", "Internet", ""),
    ("BLK", None, "NYSE", "BLACKROCK INC", 950.0, 0.26, "Financial", "Diversified Finan Serv", ""),
    ("BMY", None, "NYSE", "BRISTOL-MYERS SQUIBB CO", 52.0, 0.24, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("BRK B", None, "NYSE", "BERKSHIRE HATHAWAY INC-CL B", 460.0, 0.18, "Financial", "Insurance", "19960509"),
    ("C", None, "NYSE", "CITIGROUP INC", 62.0, 0.30, "Financial", "Banks", ""),
    ("CAT", None, "NYSE", "CATERPILLAR INC", 380.0, 0.28, "Industrial", "Machinery-Constr&Mining", ""),
    ("CHTR", None, "NASDAQ", "CHARTER COMMUNICATIONS INC-A", 330.0, 0.36, "Communications", "Media", "20100105"),
    ("CL", None, "NYSE", "COLGATE-PALMOLIVE CO", 100.0, 0.16, "Consumer, Non-cyclical", "Cosmetics/Personal Care", ""),
    ("CMCSA", None, "NASDAQ", "COMCAST CORP-CLASS A", 40.0, 0.26, "Communications", "Media", ""),
    ("COF", None, "NYSE", "CAPITAL ONE FINANCIAL CORP", 150.0, 0.30, "Financial", "Diversified Finan Serv", ""),
    ("COP", None, "NYSE", "CONOCOPHILLIPS", 110.0, 0.30, "Energy", "Oil&Gas", ""),
    ("COST", None, "NASDAQ", "COSTCO WHOLESALE CORP", 880.0, 0.20, "Consumer, Cyclical", "Retail", ""),
    ("CRM", None, "NYSE", "SALESFORCE INC", 280.0, 0.32, "Technology", "Software", "20040623"),
    ("CVS", None, "NYSE", "CVS HEALTH CORP", 58.0, 0.30, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("CVX", None, "NYSE", "CHEVRON CORP", 155.0, 0.24, "Energy", "Oil&Gas", ""),
    ("DE", None, "NYSE", "DEERE & CO", 400.0, 0.26, "Industrial", "Machinery-Diversified", ""),
    ("DHR", None, "NYSE", "DANAHER CORP", 270.0, 0.24, "Consumer, Non-cyclical", "Healthcare-Products", ""),
    ("DIS", None, "NYSE", "WALT DISNEY CO/THE", 95.0, 0.28, "Communications", "Media", ""),
    ("DUK", None, "NYSE", "DUKE ENERGY CORP", 115.0, 0.16, "Utilities", "Electric", ""),
    ("EMR", None, "NYSE", "EMERSON ELECTRIC CO", 110.0, 0.24, "Industrial", "Electrical Compo&Equip", ""),
    ("F", None, "NYSE", "FORD MOTOR CO", 11.0, 0.36, "Consumer, Cyclical", "Auto Manufacturers", ""),
    ("FDX", None, "NYSE", "FEDEX CORP", 280.0, 0.30, "Industrial", "Transportation", ""),
    ("GD", None, "NYSE", "GENERAL DYNAMICS CORP", 300.0, 0.20, "Industrial", "Aerospace/Defense", ""),
    ("GE", None, "NYSE", "GE AEROSPACE", 180.0, 0.30, "Industrial", "Aerospace/Defense", ""),
    ("GILD", None, "NASDAQ", "GILEAD SCIENCES INC", 80.0, 0.24, "Consumer, Non-cyclical", "Biotechnology", ""),
    ("GM", None, "NYSE", "GENERAL MOTORS CO", 48.0, 0.32, "Consumer, Cyclical", "Auto Manufacturers", "20101118"),
    ("GS", None, "NYSE", "GOLDMAN SACHS GROUP INC", 500.0, 0.28, "Financial", "Banks", "19990504"),
    ("HD", None, "NYSE", "HOME DEPOT INC", 390.0, 0.22, "Consumer, Cyclical", "Retail", ""),
    ("HON", None, "NASDAQ", "HONEYWELL INTERNATIONAL INC", 210.0, 0.20, "Industrial", "Miscellaneous Manufactur", ""),
    ("INTU", None, "NASDAQ", "INTUIT INC", 630.0, 0.30, "Technology", "Software", ""),
    ("ISRG", None, "NASDAQ", "INTUITIVE SURGICAL INC", 480.0, 0.30, "Consumer, Non-cyclical", "Healthcare-Products", ""),
    ("JNJ", None, "NYSE", "JOHNSON & JOHNSON", 160.0, 0.16, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("LIN", None, "NASDAQ", "LINDE PLC", 460.0, 0.20, "Basic Materials", "Chemicals", ""),
    ("LLY", None, "NYSE", "ELI LILLY & CO", 850.0, 0.32, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("LMT", None, "NYSE", "LOCKHEED MARTIN CORP", 520.0, 0.20, "Industrial", "Aerospace/Defense", ""),
    ("LOW", None, "NYSE", "LOWE'S COS INC", 250.0, 0.24, "Consumer, Cyclical", "Retail", ""),
    ("MA", None, "NYSE", "MASTERCARD INC - A", 500.0, 0.22, "Financial", "Diversified Finan Serv", "20060525"),
    ("MCD", None, "NYSE", "MCDONALD'S CORP", 290.0, 0.18, "Consumer, Cyclical", "Retail", ""),
    ("MDLZ", None, "NASDAQ", "MONDELEZ INTERNATIONAL INC-A", 70.0, 0.18, "Consumer, Non-cyclical", "Food", ""),
    ("MDT", None, "NYSE", "MEDTRONIC PLC", 88.0, 0.20, "Consumer, Non-cyclical", "Healthcare-Products", ""),
    ("MET", None, "NYSE", "METLIFE INC", 80.0, 0.26, "Financial", "Insurance", "20000405"),
    ("MMM", None, "NYSE", "3M CO", 130.0, 0.26, "Industrial", "Miscellaneous Manufactur", ""),
    ("MO", None, "NYSE", "ALTRIA GROUP INC", 52.0, 0.18, "Consumer, Non-cyclical", "Agriculture", ""),
    ("MRK", None, "NYSE", "MERCK & CO. INC.", 100.0, 0.20, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("MS", None, "NYSE", "MORGAN STANLEY", 120.0, 0.28, "Financial", "Banks", ""),
    ("NEE", None, "NYSE", "NEXTERA ENERGY INC", 75.0, 0.24, "Utilities", "Electric", ""),
    ("NKE", None, "NYSE", "NIKE INC -CL B", 80.0, 0.30, "Consumer, Cyclical", "Apparel", ""),
    ("NOW", None, "NYSE", "SERVICENOW INC", 900.0, 0.34, "Technology", "Software", "20120629"),
    ("PEP", None, "NASDAQ", "PEPSICO INC", 165.0, 0.16, "Consumer, Non-cyclical", "Beverages", ""),
    ("PFE", None, "NYSE", "PFIZER INC", 28.0, 0.24, "Consumer, Non-cyclical", "Pharmaceuticals", ""),
    ("PG", None, "NYSE", "PROCTER & GAMBLE CO/THE", 170.0, 0.15, "Consumer, Non-cyclical", "Cosmetics/Personal Care", ""),
    ("PLTR", None, "NASDAQ", "PALANTIR TECHNOLOGIES INC-A", 60.0, 0.60, "Technology", "Software", "20200930"),
    ("PM", None, "NYSE", "PHILIP MORRIS INTERNATIONAL", 125.0, 0.20, "Consumer, Non-cyclical", "Agriculture", "20080317"),
    ("PYPL", None, "NASDAQ", "PAYPAL HOLDINGS INC", 80.0, 0.36, "Financial", "Diversified Finan Serv", "20150706"),
    ("QCOM", None, "NASDAQ", "QUALCOMM INC", 165.0, 0.34, "Technology", "Semiconductors", ""),
    ("RTX", None, "NYSE", "RTX CORP", 120.0, 0.22, "Industrial", "Aerospace/Defense", ""),
    ("SBUX", None, "NASDAQ", "STARBUCKS CORP", 95.0, 0.28, "Consumer, Cyclical", "Retail", ""),
    ("SCHW", None, "NYSE", "SCHWAB (CHARLES) CORP", 70.0, 0.30, "Financial", "Diversified Finan Serv", ""),
    ("SO", None, "NYSE", "SOUTHERN CO/THE", 88.0, 0.16, "Utilities", "Electric", ""),
    ("SPG", None, "NYSE", "SIMON PROPERTY GROUP INC", 170.0, 0.26, "Financial", "REITS", ""),
    ("T", None, "NYSE", "AT&T INC", 22.0, 0.22, "Communications", "Telecommunications", ""),
    ("TGT", None, "NYSE", "TARGET CORP", 150.0, 0.30, "Consumer, Cyclical", "Retail", ""),
    ("TMO", None, "NYSE", "THERMO FISHER SCIENTIFIC INC", 580.0, 0.24, "Consumer, Non-cyclical", "Healthcare-Products", ""),
    ("TMUS", None, "NASDAQ", "T-MOBILE US INC", 220.0, 0.22, "Communications", "Telecommunications", ""),
    ("TXN", None, "NASDAQ", "TEXAS INSTRUMENTS INC", 200.0, 0.26, "Technology", "Semiconductors", ""),
    ("UBER", None, "NYSE", "UBER TECHNOLOGIES INC", 75.0, 0.40, "Technology", "Software", "20190510"),
    ("UNH", None, "NYSE", "UNITEDHEALTH GROUP INC", 560.0, 0.24, "Consumer, Non-cyclical", "Healthcare-Services", ""),
    ("UNP", None, "NYSE", "UNION PACIFIC CORP", 240.0, 0.22, "Industrial", "Transportation", ""),
    ("UPS", None, "NYSE", "UNITED PARCEL SERVICE-CL B", 130.0, 0.26, "Industrial", "Transportation", "19991110"),
    ("USB", None, "NYSE", "US BANCORP", 48.0, 0.28, "Financial", "Banks", ""),
    ("V", None, "NYSE", "VISA INC-CLASS A SHARES", 290.0, 0.20, "Financial", "Diversified Finan Serv", "20080319"),
    ("VZ", None, "NYSE", "VERIZON COMMUNICATIONS INC", 42.0, 0.18, "Communications", "Telecommunications", ""),
    ("WFC", None, "NYSE", "WELLS FARGO & CO", 60.0, 0.28, "Financial", "Banks", ""),
)  # fmt: skip

# ETFs: symbol, IB conId or None, primary exchange, long name, price, annual vol, since
ETFS = (
    ("SPY", 756733, "ARCA", "SPDR S&P 500 ETF TRUST", 560.0, 0.18, "19930129"),
    ("QQQ", 320227571, "NASDAQ", "INVESCO QQQ TRUST SERIES 1", 480.0, 0.22, "19990310"),
    ("IWM", 9579970, "ARCA", "ISHARES RUSSELL 2000 ETF", 220.0, 0.24, "20000526"),
    ("TLT", 15547841, "NASDAQ", "ISHARES 20+ YEAR TREASURY BD", 92.0, 0.15, "20020730"),
    ("GLD", 51529211, "ARCA", "SPDR GOLD SHARES", 240.0, 0.15, "20041118"),
    ("VIXY", None, "BATS", "PROSHARES VIX SHORT-TERM FUTU", 14.0, 0.70, "20110104"),
    ("DIA", None, "ARCA", "SPDR DJIA TRUST", 420.0, 0.16, "19980120"),
    ("EFA", None, "ARCA", "ISHARES MSCI EAFE ETF", 80.0, 0.16, "20010814"),
    ("EEM", None, "ARCA", "ISHARES MSCI EMERGING MARKETS", 43.0, 0.20, "20030414"),
    ("XLF", None, "ARCA", "FINANCIAL SELECT SECTOR SPDR", 45.0, 0.20, "19981222"),
    ("XLE", None, "ARCA", "ENERGY SELECT SECTOR SPDR", 90.0, 0.26, "19981222"),
    ("XLK", None, "ARCA", "TECHNOLOGY SELECT SECT SPDR", 225.0, 0.24, "19981222"),
    ("XLV", None, "ARCA", "HEALTH CARE SELECT SECTOR", 150.0, 0.16, "19981222"),
    ("XLI", None, "ARCA", "INDUSTRIAL SELECT SECT SPDR", 130.0, 0.18, "19981222"),
    ("XLY", None, "ARCA", "CONSUMER DISCRETIONARY SELT", 200.0, 0.22, "19981222"),
    ("XLP", None, "ARCA", "CONSUMER STAPLES SPDR", 80.0, 0.13, "19981222"),
    ("XLU", None, "ARCA", "UTILITIES SELECT SECTOR SPDR", 78.0, 0.16, "19981222"),
    ("XLB", None, "ARCA", "MATERIALS SELECT SECTOR SPDR", 90.0, 0.20, "19981222"),
    ("XLRE", None, "ARCA", "REAL ESTATE SELECT SECT SPDR", 42.0, 0.20, "20151008"),
    ("XLC", None, "ARCA", "COMMUNICATION SERVICES SPDR", 90.0, 0.20, "20180619"),
    ("SMH", None, "NASDAQ", "VANECK SEMICONDUCTOR ETF", 240.0, 0.34, "20111220"),
    ("HYG", None, "ARCA", "ISHARES IBOXX HIGH YLD CORP", 79.0, 0.07, "20070411"),
    ("LQD", None, "ARCA", "ISHARES IBOXX INV GR CORP BD", 110.0, 0.08, "20020726"),
    ("IEF", None, "NASDAQ", "ISHARES 7-10 YEAR TREASURY BD", 95.0, 0.07, "20020726"),
    ("SHY", None, "NASDAQ", "ISHARES 1-3 YEAR TREASURY BD", 82.0, 0.02, "20020726"),
    ("SLV", None, "ARCA", "ISHARES SILVER TRUST", 28.0, 0.28, "20060428"),
    ("USO", None, "ARCA", "UNITED STATES OIL FUND LP", 75.0, 0.35, "20060410"),
    ("UVXY", None, "BATS", "PROSHARES ULTRA VIX ST FUTURE", 30.0, 0.90, "20111004"),
    ("VOO", None, "ARCA", "VANGUARD S&P 500 ETF", 515.0, 0.18, "20100909"),
    ("VTI", None, "ARCA", "VANGUARD TOTAL STOCK MKT ETF", 280.0, 0.18, "20010615"),
    ("VEA", None, "ARCA", "VANGUARD FTSE DEVELOPED ETF", 50.0, 0.16, "20070726"),
    ("VWO", None, "ARCA", "VANGUARD FTSE EMERGING MARKET", 45.0, 0.20, "20050310"),
    ("ARKK", None, "ARCA", "ARK INNOVATION ETF", 50.0, 0.50, "20141031"),
    ("KRE", None, "ARCA", "SPDR S&P REGIONAL BANKING", 55.0, 0.30, "20060622"),
    ("GDX", None, "ARCA", "VANECK GOLD MINERS ETF", 36.0, 0.35, "20060522"),
)  # fmt: skip

# FX pairs on IDEALPRO: base, quote, IB conId or None, price, annual vol, min tick
FX = (
    ("EUR", "USD", 12087792, 1.0850, 0.08, 0.00005),
    ("GBP", "USD", 12087797, 1.2700, 0.09, 0.00005),
    ("USD", "JPY", 15016059, 150.00, 0.10, 0.005),
    ("USD", "CAD", 15016062, 1.3600, 0.07, 0.00005),
    ("AUD", "USD", 14433401, 0.6600, 0.11, 0.00005),
    ("USD", "CHF", 12087820, 0.8800, 0.08, 0.00005),
    ("NZD", "USD", None, 0.6000, 0.11, 0.00005),
    ("EUR", "GBP", None, 0.8550, 0.06, 0.00005),
    ("EUR", "JPY", None, 162.50, 0.10, 0.005),
    ("EUR", "CHF", None, 0.9500, 0.07, 0.00005),
    ("GBP", "JPY", None, 190.50, 0.11, 0.005),
    ("AUD", "JPY", None, 99.00, 0.13, 0.005),
)

CURRENCY_NAMES = {
    "EUR": "European Monetary Union Euro",
    "GBP": "British pound",
    "USD": "US Dollar",
    "AUD": "Australian dollar",
    "NZD": "New Zealand dollar",
}

# Indexes: symbol, IB conId or None, exchange, long name, level, annual vol, since
INDEXES = (
    ("SPX", 416904, "CBOE", "S&P 500 Stock Index", 5600.0, 0.18, "19820421"),
    ("VIX", 13455763, "CBOE", "CBOE Volatility Index", 16.0, 0.90, "19900102"),
    ("NDX", 416843, "NASDAQ", "NASDAQ 100 Stock Index", 19500.0, 0.22, "19851001"),
    ("RUT", None, "RUSSELL", "Russell 2000 Stock Index", 2200.0, 0.24, "19870910"),
)

# Futures: symbol, exchange, long name, multiplier, price, annual vol, min tick, cycle ("Q" quarterly
# on the third Friday, "M" monthly with the last trade three business days before the 25th of the
# month before delivery, as CL)
FUTURES = (
    ("ES", "CME", "E-mini S&P 500", 50, 5650.0, 0.18, 0.25, "Q"),
    ("NQ", "CME", "E-mini NASDAQ 100", 20, 19650.0, 0.22, 0.25, "Q"),
    ("CL", "NYMEX", "Light Sweet Crude Oil", 1000, 75.0, 0.35, 0.01, "M"),
)
