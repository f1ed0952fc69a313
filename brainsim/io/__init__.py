"""Reading and writing: checkpoints, simulation results, and NIR model interchange."""
