"""Console scripts. Every one runs on native threads, without eventlet."""

from attachd.common import concurrency

concurrency.use_native_threads()
