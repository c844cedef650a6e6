"""The market: pool maths shared by the simulator and the paper venue, and the simulated market itself."""
