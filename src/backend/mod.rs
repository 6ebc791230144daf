//! Devices. The CPU is the reference backend; the CUDA backend is added beside it.
