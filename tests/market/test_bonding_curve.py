from market import bonding_curve as bc


def test_buy_cost_matches_official_formula() -> None:
    c = bc.Curve.initial()
    n, cost, fee = bc.buy_cost(c, 1_000_000_000, 125)
    # cost = floor(n*vsol/(vtok-n)) + 1
    assert cost == 1_000_000_000 * 30_000_000_000 // (1_073_000_000_000_000 - 1_000_000_000) + 1
    assert fee == -(-cost * 125 // 10_000)
    assert n == 1_000_000_000


def test_buy_with_sol_then_sell_loses_only_fees_and_rounding() -> None:
    c = bc.Curve.initial()
    tokens, net, _fee = bc.buy_with_sol(c, 1_000_000_000, 125)
    c2 = bc.apply_buy(c, tokens, net)
    gross, _fee2 = bc.sell_proceeds(c2, tokens, 125)
    assert gross <= net
    assert net - gross <= 2


def test_curve_completes_when_real_tokens_run_out() -> None:
    c = bc.Curve.initial()
    n, cost, _ = bc.buy_cost(c, c.real_token_reserves + 10, 0)
    assert n == c.real_token_reserves
    assert bc.apply_buy(c, n, cost).complete
