"""Small helpers shared by the models."""
