"""Paper gateways of different accounts hand out execIds and permIds of their own (a plain test: the
account tests beside it are all asyncio ones)."""


def test_gateways_of_different_accounts_never_make_the_same_exec_id_or_perm_id():
    """The console stores one Fill per execId and one Order per permId: one paper gateway per account
    (as `up` runs them for several connections) must not repeat another's, as IB does not."""
    from trading.ibsim.threaded import run_in_thread

    made = {}
    for account in ("DU1234567", "DU0000001", "DU0000002"):
        with run_in_thread(seed=1, port=0, account_id=account, tick_interval=0) as gateway:
            gateway.external_trade("SPY", 10)
            gateway.external_trade("QQQ", -5)
            made[account] = [(e["exec_id"], e["perm_id"]) for e in gateway.executions()]

    assert [perm_id for _, perm_id in made["DU1234567"]] == [1_000_000_001, 1_000_000_002]  # the default: as before
    assert made["DU1234567"][0][0].startswith(f"{0xE0D5 + 1:08x}.")
    exec_ids = [exec_id for rows in made.values() for exec_id, _ in rows]
    perm_ids = [perm_id for rows in made.values() for _, perm_id in rows]
    assert len(set(exec_ids)) == len(exec_ids) == 6 and len(set(perm_ids)) == len(perm_ids) == 6
