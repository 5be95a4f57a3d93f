"""Benchmarks for mao: start-up, responsiveness while streaming, throughput, orchestration
overhead, history at scale and memory. Run ``python -m benchmarks --help``; the figures and their
goals are in docs/benchmarks.md."""
