// The emulated CUDA device's driver and cuBLAS: the subset of the CUDA driver API and of cuBLAS that
// cudarc calls for this project, implemented on the CPU. Built by build.rs as two shared libraries
// whose sonames are `libcuda.so` and `libcublas.so`; `CudaDevice` loads them before cudarc's first
// call (`KOOPMAN_CUDA=emu`, `--device emu`), so cudarc's own code runs unchanged against them.
//
// Device memory is host memory: a CUdeviceptr is a host address. Streams run in order on the
// calling thread (every call completes before it returns), so synchronisation is a no-op. Kernels
// are the real kernels/**/*.cu sources compiled for the CPU (see runtime.h), found by name;
// module images (CUBIN/PTX) are accepted and ignored. GEMMs run through a reference column-major
// GEMM that takes cuBLAS's own arguments verbatim (op flags, m/n/k, leading dimensions, batch
// strides, alpha/beta), rounding operands to TF32 in that math mode and reading bf16 operands.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define KOOPMAN_EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUresult;
typedef int CUdevice;
typedef void* CUcontext;
typedef void* CUstream;
typedef void* CUevent;
typedef void* CUmodule;
typedef void* CUfunction;
typedef unsigned long long CUdeviceptr;

enum : CUresult {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_SUPPORTED = 801,
};

// The kernels live in the program (compiled into the crate by build.rs); the program registers
// its lookup here before cudarc's first call. Each dispatcher unpacks cuLaunchKernel's argument
// pointers in the kernel's parameter order and runs the kernel; it returns nonzero on a bad
// launch (the runtime's message is kept by the program).
struct EmuLaunchDims {
    unsigned grid[3], block[3], shared_bytes;
};
typedef int (*EmuDispatch)(const EmuLaunchDims*, void** params);
typedef EmuDispatch (*EmuFind)(const char* name);
static EmuFind g_find = nullptr;
KOOPMAN_EXPORT void koopman_emu_register(EmuFind find) { g_find = find; }
static EmuDispatch koopman_emu_find(const char* name) { return g_find ? g_find(name) : nullptr; }

static int g_context_token, g_module_token;
static CUresult g_last_error = CUDA_SUCCESS;

KOOPMAN_EXPORT CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuDriverGetVersion(int* v) { *v = 13000; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuDeviceGetCount(int* n) { *n = 1; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *d = 0;
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice) {
    std::snprintf(name, len, "%s", "koopman emulated CUDA device (CPU)");
    return CUDA_SUCCESS;
}
// CUdevice_attribute values cudarc asks for; anything else reads as 0 (unsupported).
KOOPMAN_EXPORT CUresult cuDeviceGetAttribute(int* v, int attr, CUdevice) {
    switch (attr) {
        case 1: *v = 1024; break;                    // MAX_THREADS_PER_BLOCK
        case 2: case 3: case 4: *v = 1024; break;    // MAX_BLOCK_DIM_X/Y/Z (z: 64 on GPUs)
        case 5: *v = 2147483647; break;              // MAX_GRID_DIM_X
        case 6: case 7: *v = 65535; break;           // MAX_GRID_DIM_Y/Z
        case 8: *v = 48 * 1024; break;               // MAX_SHARED_MEMORY_PER_BLOCK
        case 10: *v = 32; break;                     // WARP_SIZE
        case 16: *v = 1; break;                      // MULTIPROCESSOR_COUNT
        case 75: *v = 9; break;                      // COMPUTE_CAPABILITY_MAJOR
        case 76: *v = 0; break;                      // COMPUTE_CAPABILITY_MINOR
        default: *v = 0;                             // incl. MEMORY_POOLS_SUPPORTED: plain allocs
    }
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice) { *bytes = size_t(1) << 34; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemGetInfo_v2(size_t* free_b, size_t* total) {
    *free_b = *total = size_t(1) << 34;
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) { *c = &g_context_token; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuCtxGetCurrent(CUcontext* c) { *c = &g_context_token; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuCtxSynchronize() { return g_last_error; }
KOOPMAN_EXPORT CUresult cuStreamSynchronize(CUstream) { return g_last_error; }
KOOPMAN_EXPORT CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned) { return CUDA_SUCCESS; }

// Events: the stream is synchronous, so an event is just a timestamp.
#include <chrono>
static double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}
KOOPMAN_EXPORT CUresult cuEventCreate(CUevent* e, unsigned) { *e = new double(0); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuEventRecord(CUevent e, CUstream) { *(double*)e = now_ms(); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuEventQuery(CUevent) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuEventDestroy_v2(CUevent e) { delete (double*)e; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuEventElapsedTime(float* ms, CUevent a, CUevent b) {
    *ms = float(*(double*)b - *(double*)a);
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuEventElapsedTime_v2(float* ms, CUevent a, CUevent b) { return cuEventElapsedTime(ms, a, b); }

// Memory: 256-byte aligned host allocations, like the device allocator's alignment. Counted per
// calling thread (every call runs on its caller), so a test can show that its own warm step
// allocates no device memory while other tests use the device in parallel.
static thread_local long long t_allocations = 0;
KOOPMAN_EXPORT long long koopman_emu_allocations() { return t_allocations; }
KOOPMAN_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
    ++t_allocations;
    void* m = nullptr;
    if (posix_memalign(&m, 256, n ? n : 1) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    *p = (CUdeviceptr)m;
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuMemFree_v2(CUdeviceptr p) { std::free((void*)p); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemAllocAsync(CUdeviceptr* p, size_t n, CUstream) { return cuMemAlloc_v2(p, n); }
KOOPMAN_EXPORT CUresult cuMemFreeAsync(CUdeviceptr p, CUstream) { return cuMemFree_v2(p); }
KOOPMAN_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* s, size_t n) { std::memcpy((void*)d, s, n); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemcpyDtoH_v2(void* d, CUdeviceptr s, size_t n) { std::memcpy(d, (void*)s, n); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) { std::memmove((void*)d, (void*)s, n); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, CUstream) { return cuMemcpyHtoD_v2(d, s, n); }
KOOPMAN_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, CUstream) { return cuMemcpyDtoH_v2(d, s, n); }
KOOPMAN_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream) { return cuMemcpyDtoD_v2(d, s, n); }
KOOPMAN_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) { std::memset((void*)d, v, n); return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream) { return cuMemsetD8_v2(d, v, n); }

// Modules: images are accepted and ignored; functions are the CPU-compiled kernels, by name.
KOOPMAN_EXPORT CUresult cuModuleLoadData(CUmodule* m, const void*) { *m = &g_module_token; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuModuleGetFunction(CUfunction* f, CUmodule, const char* name) {
    EmuDispatch d = koopman_emu_find(name);
    if (!d) return CUDA_ERROR_NOT_FOUND;
    *f = (void*)d;
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuFuncGetAttribute(int* v, int, CUfunction) { *v = 0; return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuFuncSetAttribute(CUfunction, int, int) { return CUDA_SUCCESS; }
KOOPMAN_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                       unsigned by, unsigned bz, unsigned shared, CUstream, void** params,
                                       void** extra) {
    if (extra) return CUDA_ERROR_NOT_SUPPORTED;
    if ((size_t)bx * by * bz > 1024 || bx * by * bz == 0 || gx * gy * gz == 0 || by > 1024 || bz > 64 ||
        gy > 65535 || gz > 65535 || shared > 48 * 1024)
        return CUDA_ERROR_INVALID_VALUE;
    EmuLaunchDims dims = {{gx, gy, gz}, {bx, by, bz}, shared};
    if (((EmuDispatch)f)(&dims, params) != 0) return g_last_error = CUDA_ERROR_LAUNCH_FAILED;
    return CUDA_SUCCESS;
}

KOOPMAN_EXPORT CUresult cuGetErrorName(CUresult e, const char** s) {
    static thread_local std::string buf;
    buf = "CUDA_ERROR_" + std::to_string(e) + " (emulated device)";
    *s = buf.c_str();
    return CUDA_SUCCESS;
}
KOOPMAN_EXPORT CUresult cuGetErrorString(CUresult e, const char** s) { return cuGetErrorName(e, s); }

// ---------------------------------------------------------------------------------------------
// cuBLAS: a reference column-major GEMM over cuBLAS's own arguments.
typedef int cublasStatus_t;
typedef void* cublasHandle_t;
enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
enum { CUDA_R_32F = 0, CUDA_R_16BF = 14 };
enum { CUBLAS_COMPUTE_32F = 68 };

struct Handle { int math = CUBLAS_DEFAULT_MATH; };

KOOPMAN_EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t* h) { *h = new Handle(); return CUBLAS_STATUS_SUCCESS; }
KOOPMAN_EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t h) { delete (Handle*)h; return CUBLAS_STATUS_SUCCESS; }
KOOPMAN_EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t, void*) { return CUBLAS_STATUS_SUCCESS; }
KOOPMAN_EXPORT cublasStatus_t cublasSetMathMode(cublasHandle_t h, int mode) { ((Handle*)h)->math = mode; return CUBLAS_STATUS_SUCCESS; }
KOOPMAN_EXPORT cublasStatus_t cublasGetMathMode(cublasHandle_t h, int* mode) { *mode = ((Handle*)h)->math; return CUBLAS_STATUS_SUCCESS; }

// TF32 keeps 10 mantissa bits (round to nearest even on the dropped 13).
static float tf32(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
    std::memcpy(&x, &u, 4);
    return x;
}
static float bf16(const void* p, long long i) {
    uint32_t u = uint32_t(((const uint16_t*)p)[i]) << 16;
    float x;
    std::memcpy(&x, &u, 4);
    return x;
}

// C[i + j ldc] = alpha sum_l op(A)[i, l] op(B)[l, j] + beta C, column-major, for each batch.
// op(A) is m x k: A[i + l lda] (N) or A[l + i lda] (T); op(B) is k x n likewise.
static cublasStatus_t gemm_ref(int math, int ta, int tb, int m, int n, int k, float alpha, const void* A,
                               int atype, int lda, long long sa, const void* B, int btype, int ldb,
                               long long sb, float beta, float* C, int ldc, long long sc, int batch) {
    if (m < 0 || n < 0 || k < 0 || batch < 0 || (ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) ||
        (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T) || ldc < (m > 1 ? m : 1) ||
        lda < ((ta == CUBLAS_OP_N ? m : k) > 1 ? (ta == CUBLAS_OP_N ? m : k) : 1) ||
        ldb < ((tb == CUBLAS_OP_N ? k : n) > 1 ? (tb == CUBLAS_OP_N ? k : n) : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    auto load = [&](const void* p, int type, long long idx) -> float {
        if (type == CUDA_R_16BF) return bf16(p, idx);
        float x = ((const float*)p)[idx];
        return math == CUBLAS_TF32_TENSOR_OP_MATH ? tf32(x) : x;
    };
    for (int b = 0; b < batch; ++b)
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                float accf = 0;  // FP32 accumulation, as CUBLAS_COMPUTE_32F
                for (int l = 0; l < k; ++l) {
                    long long ia = b * sa + (ta == CUBLAS_OP_N ? i + (long long)l * lda : l + (long long)i * lda);
                    long long ib = b * sb + (tb == CUBLAS_OP_N ? l + (long long)j * ldb : j + (long long)l * ldb);
                    accf += load(A, atype, ia) * load(B, btype, ib);
                }
                float* c = C + b * sc + i + (long long)j * ldc;
                *c = alpha * accf + (beta == 0.0f ? 0.0f : beta * *c);
            }
    return CUBLAS_STATUS_SUCCESS;
}

KOOPMAN_EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float* alpha,
                                             const float* A, int lda, const float* B, int ldb, const float* beta,
                                             float* C, int ldc) {
    return gemm_ref(((Handle*)h)->math, ta, tb, m, n, k, *alpha, A, CUDA_R_32F, lda, 0, B, CUDA_R_32F, ldb, 0, *beta,
                    C, ldc, 0, 1);
}
KOOPMAN_EXPORT cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k,
                                                        const float* alpha, const float* A, int lda, long long sa,
                                                        const float* B, int ldb, long long sb, const float* beta,
                                                        float* C, int ldc, long long sc, int batch) {
    return gemm_ref(((Handle*)h)->math, ta, tb, m, n, k, *alpha, A, CUDA_R_32F, lda, sa, B, CUDA_R_32F, ldb, sb,
                    *beta, C, ldc, sc, batch);
}
KOOPMAN_EXPORT cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, int ta, int tb, int m, int n, int k,
                                                         const void* alpha, const void* A, int atype, int lda,
                                                         long long sa, const void* B, int btype, int ldb, long long sb,
                                                         const void* beta, void* C, int ctype, int ldc, long long sc,
                                                         int batch, int compute, int) {
    if (ctype != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F || (atype != CUDA_R_32F && atype != CUDA_R_16BF) ||
        (btype != CUDA_R_32F && btype != CUDA_R_16BF))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return gemm_ref(((Handle*)h)->math, ta, tb, m, n, k, *(const float*)alpha, A, atype, lda, sa, B, btype, ldb, sb,
                    *(const float*)beta, (float*)C, ldc, sc, batch);
}
KOOPMAN_EXPORT cublasStatus_t cublasGemmEx(cublasHandle_t h, int ta, int tb, int m, int n, int k, const void* alpha,
                                           const void* A, int atype, int lda, const void* B, int btype, int ldb,
                                           const void* beta, void* C, int ctype, int ldc, int compute, int algo) {
    return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, atype, lda, 0, B, btype, ldb, 0, beta, C, ctype,
                                      ldc, 0, 1, compute, algo);
}
