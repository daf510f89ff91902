"""Configuration: settings from the environment, the fetch policy and shared defaults. The bottom layer: it
imports nothing of the project."""
