import jax
import matplotlib

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")
# Strict dtype promotion (as diffrax's tests): a hard-coded float32 meeting a float64, or an int
# meeting a float, is an error, so float64 runs end to end under x64.
jax.config.update("jax_numpy_dtype_promotion", "strict")
