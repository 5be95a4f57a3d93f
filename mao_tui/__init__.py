"""mao: orchestrate several frontier models on one piece of software work, live, in the terminal."""

__version__ = "0.1.0"
