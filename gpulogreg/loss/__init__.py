"""The objective: loss, models, passes and their compiled and CUDA overrides."""
