"""The compiled engine: the customers' monthly decisions as numba kernels over named records of
1-d arrays (`records`), the channel codes and the alternatives' layout (`channels`), the
portfolio pass (`portfolio`), transactions by purpose (`purposes`) and the draws they share."""
