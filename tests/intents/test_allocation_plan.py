"""The allocator's rules, as arithmetic: who is allocated, who keeps what, what is never touched."""

from trading.intents.allocation_plan import DISABLED, FRESH, STALE, StrategyInput, allocation_plan

SPY, VIXY, TLT = 756733, 500000001, 15547841
CONTRACTS = {
    SPY: {"symbol": "SPY", "sec_type": "STK", "currency": "USD"},
    VIXY: {"symbol": "VIXY", "sec_type": "STK", "currency": "USD"},
    TLT: {"symbol": "TLT", "sec_type": "STK", "currency": "USD"},
}


def fresh(strategy_id, targets: dict, holdings=None):
    rows = [{"con_id": con_id, "symbol": CONTRACTS[con_id]["symbol"], "quantity": q} for con_id, q in targets.items()]
    return StrategyInput(strategy_id, FRESH, rows=rows, holdings=holdings or {})


def plan(strategies, positions=None, in_flight=None, flatten_unowned=False):
    return allocation_plan(
        strategies=strategies,
        positions=positions or {},
        in_flight=in_flight or {},
        contracts=CONTRACTS,
        flatten_unowned=flatten_unowned,
    )


def orders(result):
    return {line["symbol"]: (line["action"], line["quantity"], line["owner"]) for line in result.diff if line["quantity"]}


def test_it_sums_targets_per_contract_and_orders_the_difference():
    result = plan([fresh("a", {SPY: 30}), fresh("b", {SPY: 20, VIXY: -5})], positions={SPY: 10})
    assert orders(result) == {"SPY": ("BUY", 40, "a"), "VIXY": ("SELL", 5, "b")}
    spy = next(row for row in result.aggregate if row["symbol"] == "SPY")
    assert spy["target"] == 50 and [c["strategy"] for c in spy["contributors"]] == ["a", "b"]


def test_in_flight_orders_count_as_held():
    assert orders(plan([fresh("a", {SPY: 30})], positions={SPY: 10}, in_flight={SPY: 20})) == {}
    assert orders(plan([fresh("a", {SPY: 30})], in_flight={SPY: 40})) == {"SPY": ("SELL", 10, "a")}


def test_positions_no_strategy_targets_or_holds_are_left_alone_unless_the_switch_is_on():
    result = plan([fresh("a", {SPY: 5})], positions={TLT: 7})
    assert orders(result) == {"SPY": ("BUY", 5, "a")}
    assert any("TLT: 7 held by no strategy, left alone" in note for note in result.notes)
    assert orders(plan([fresh("a", {SPY: 5})], positions={TLT: 7}, flatten_unowned=True)) == {
        "SPY": ("BUY", 5, "a"),
        "TLT": ("SELL", 7, "allocation"),
    }


def test_a_strategy_that_drops_a_contract_sells_what_it_holds_of_it():
    result = plan([fresh("a", {SPY: 5}, holdings={VIXY: 8})], positions={SPY: 5, VIXY: 8})
    assert orders(result) == {"VIXY": ("SELL", 8, "a")}


def test_strategies_that_are_not_allocated_keep_what_they_hold():
    stale = StrategyInput("old", STALE, holdings={SPY: 100}, target_id=3, age_minutes=600)
    off = StrategyInput("off", DISABLED, holdings={SPY: 40})
    result = plan([fresh("a", {SPY: 50}, holdings={SPY: 20}), stale, off], positions={SPY: 160})
    assert orders(result) == {"SPY": ("BUY", 30, "a")}  # 50 + 100 + 40 kept - 160 held
    assert any("old: target #3 is 600 minutes old (stale)" in note for note in result.notes)


def test_what_is_kept_never_exceeds_what_ib_holds():
    # close_all sold the stale strategy's 100 (attributed to close_all): its holding is out of date.
    stale = StrategyInput("old", STALE, holdings={SPY: 100})
    assert orders(plan([fresh("a", {SPY: 50}), stale], positions={})) == {"SPY": ("BUY", 50, "a")}
    assert orders(plan([fresh("a", {SPY: 50}), stale], positions={SPY: 30})) == {"SPY": ("BUY", 50, "a")}


def test_a_contract_held_only_by_a_kept_strategy_is_not_unowned():
    stale = StrategyInput("old", STALE, holdings={TLT: 9})
    assert orders(plan([fresh("a", {SPY: 1}), stale], positions={SPY: 1, TLT: 9}, flatten_unowned=True)) == {}


def test_the_owner_is_the_strategy_whose_own_gap_points_the_way_of_the_order():
    a = fresh("a", {SPY: 100}, holdings={SPY: 100})  # on target
    b = fresh("b", {SPY: 10}, holdings={SPY: 30})  # wants to sell 20
    assert orders(plan([a, b], positions={SPY: 130})) == {"SPY": ("SELL", 20, "b")}
