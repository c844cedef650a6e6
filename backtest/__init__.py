"""Record, replay and backtest: the live decision code on recorded raw topics."""
