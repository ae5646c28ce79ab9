# tests/bench: benchmarks (bench_*.c, built by the Makefile's bench rule)
# and gl-load, the terminal simulator that drives gl-hostd over real TLS
# with real DUKPT keys (system tests and the host's throughput figures).
GL_PROGS += gl-load
gl-load_SRCS := tests/bench/gl_load.c
