"""The paper venue: fills priced with the pools' own maths, settled on the local chain."""
