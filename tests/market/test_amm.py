from market import amm


def test_raydium_formula_matches_hand_computation() -> None:
    # in=1_000_000, fee 25 bps -> fee = ceil(2500) = 2500, net = 997_500
    # out = floor(2_000_000_000 * 997_500 / (50_000_000_000 + 997_500)) = 39_899
    assert amm.fee_amount(1_000_000, 25) == 2_500
    assert amm.quote_out(1_000_000, 50_000_000_000, 2_000_000_000, 25) == 39_899


def test_fee_rounds_up() -> None:
    assert amm.fee_amount(1, 25) == 1
    assert amm.fee_amount(0, 25) == 0


def test_quote_in_is_the_smallest_input_for_the_output() -> None:
    r_in, r_out = 123_456_789_000, 9_876_543_000
    for want in (1, 10, 12_345, 987_654_321):
        need = amm.quote_in(want, r_in, r_out, 30)
        assert amm.quote_out(need, r_in, r_out, 30) >= want
        assert amm.quote_out(need - 1, r_in, r_out, 30) < want


def test_swap_conserves_constant_product_growth() -> None:
    res = amm.swap(5_000_000, 10**12, 10**11, 25)
    assert res.reserve_in_after * res.reserve_out_after >= 10**12 * 10**11


def test_impact_grows_with_size() -> None:
    small = amm.price_impact_bps(10**6, 10**12, 10**11, 25)
    large = amm.price_impact_bps(10**10, 10**12, 10**11, 25)
    assert 0 <= small < large
