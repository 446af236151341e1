"""AWS helpers, one module per service. Helpers collect and compute; they never assert."""
