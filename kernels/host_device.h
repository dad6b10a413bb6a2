// GLASSY_HOST_DEVICE marks a function that compiles for both the host and a CUDA device, so the
// CPU kernels and the CUDA kernels share one definition of their arithmetic.
#pragma once

#ifdef __CUDACC__
#define GLASSY_HOST_DEVICE __host__ __device__
#else
#define GLASSY_HOST_DEVICE
#endif
