//! The process-wide CUDA device: context, default stream, cuBLAS handle and every kernel,
//! compiled by NVRTC for the device's own architecture once, on first use.

use super::compile::{arch_for, compile_all, kernel_names, Compiled};
use super::error::{CudaError, Result};
use super::launch::gemm::GemmPrecision;
use crate::kernels;
use cudarc::cublas::sys::{cublasMath_t, cublasSetMathMode, cublasStatus_t};
use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

/// GPU 0 with everything a launcher needs. Obtain it with [`CudaDevice::get`].
pub struct CudaDevice {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    funcs: HashMap<&'static str, CudaFunction>,
    arch: &'static str,
    name: String,
    /// Driver and NVRTC versions, for the device line and load errors.
    versions: Versions,
    /// How the kernels were loaded: `"CUBIN"` (machine code for this device) or `"PTX"`.
    image: &'static str,
    /// Whether the driver is the emulator (`emu::driver`).
    emulated: bool,
    /// The current [`GemmPrecision`], as its index (set process-wide, read by every matmul).
    precision: std::sync::atomic::AtomicU8,
}

/// The process's one CUDA device (a process loads one CUDA driver: the GPU's or the emulator's).
static DEVICE: OnceLock<std::result::Result<CudaDevice, String>> = OnceLock::new();

impl CudaDevice {
    /// The shared device, created on first call (checks [`super::cuda_status`], compiles and loads
    /// all kernels). Later calls return the same device, or the same error. With
    /// `KOOPMAN_CUDA=emu` in the environment it is the emulated device ([`CudaDevice::emulated`]),
    /// which is how the CUDA tests run without a GPU.
    pub fn get() -> Result<&'static CudaDevice> {
        if std::env::var("KOOPMAN_CUDA").is_ok_and(|v| v == "emu") {
            return Self::emulated();
        }
        Self::init(false)
    }

    /// The emulated CUDA device: this backend's own code, launch plans and cuBLAS calls, run on
    /// the CPU through `emu::driver` (kernels compiled for the CPU, host memory as device
    /// memory). For trying the CUDA code path without a GPU and for testing it in CI. Fails if
    /// the process already uses a real GPU.
    pub fn emulated() -> Result<&'static CudaDevice> {
        let dev = Self::init(true)?;
        if !dev.emulated {
            return Err(CudaError(
                "this process already uses a real GPU; the emulated device needs its own process"
                    .into(),
            ));
        }
        Ok(dev)
    }

    fn init(emulated: bool) -> Result<&'static CudaDevice> {
        DEVICE
            .get_or_init(|| {
                if emulated {
                    super::emu::driver::load()?;
                } else {
                    super::cuda_status()?;
                }
                catch_unwind(AssertUnwindSafe(|| Self::create(0, emulated)))
                    .unwrap_or_else(|_| Err("CUDA initialisation panicked".into()))
                    .map_err(|e| e.0)
            })
            .as_ref()
            .map_err(|e| CudaError(e.clone()))
    }

    /// Whether this is the emulated device (kernels run on the CPU).
    pub fn is_emulated(&self) -> bool {
        self.emulated
    }

    fn create(ordinal: usize, emulated: bool) -> Result<Self> {
        let ctx = CudaContext::new(ordinal)?;
        // SAFETY: every allocation, copy, launch and GEMM goes through the one default stream, so
        // stream order alone sequences them; per-buffer read/write events would only cost time.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone())?;
        let (major, minor) = ctx.compute_capability()?;
        let arch = arch_for(major, minor);
        let name = ctx.name()?;
        let versions = Versions::probe();
        let mut funcs = HashMap::new();
        // The emulated driver runs the kernels compiled for the CPU: no NVRTC, an empty image.
        let compiled = if emulated {
            let empty = || Compiled {
                image: cudarc::nvrtc::Ptx::from_src(String::new()),
                kind: "host code (emulated)",
            };
            kernels::ALL
                .iter()
                .map(|&(stem, _)| (stem.to_string(), empty()))
                .collect()
        } else {
            compile_all(arch)?
        };
        let image = compiled.first().map_or("no", |(_, c)| c.kind);
        for ((stem, c), &(_, src)) in compiled.into_iter().zip(kernels::ALL) {
            let kind = c.kind;
            let module = ctx.load_module(c.image).map_err(|e| {
                CudaError(format!(
                    "loading {stem}.cu ({kind} for {arch}) on {name}: {e:?} ({})",
                    versions.describe()
                ))
            })?;
            for kname in kernel_names(src) {
                funcs.insert(kname, module.load_function(kname)?);
            }
        }
        Ok(Self {
            ctx,
            stream,
            blas,
            funcs,
            arch,
            name,
            versions,
            image,
            emulated,
            precision: std::sync::atomic::AtomicU8::new(0),
        })
    }

    /// A loaded kernel by name (the `crate::kernels::<path>::<NAME>` constants; launch through the
    /// typed functions of [`super::kernels`]).
    pub fn func(&self, name: &str) -> Result<CudaFunction> {
        self.funcs
            .get(name)
            .cloned()
            .ok_or_else(|| CudaError(format!("no kernel named {name}")))
    }

    pub fn ctx(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream every allocation, copy, launch and GEMM goes through.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The cuBLAS handle, with the context bound to the calling thread first (cuBLAS uses the
    /// thread's current context; a planner thread other than the one that created the device
    /// would otherwise have none).
    pub fn blas(&self) -> Result<&CudaBlas> {
        self.ctx.bind_to_thread()?;
        Ok(&self.blas)
    }

    /// The NVRTC target, e.g. `"sm_90"`.
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    /// One line for the user: GPU, architecture, driver and NVRTC versions, kernel image kind, and
    /// a warning when NVRTC is newer than the driver (its PTX would not load; CUBIN does).
    pub fn describe(&self) -> String {
        if self.emulated {
            return format!(
                "{}: the CUDA backend's code on the CPU, kernels compiled for the CPU",
                self.name
            );
        }
        format!(
            "{}, {}, {}, kernels as {}",
            self.name,
            self.arch,
            self.versions.describe(),
            self.image
        )
    }

    /// The GPU's marketing name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// TF32 tensor-core math for f32 GEMMs (off by default: plain `cublasSgemm` is true FP32).
    /// JAX uses TF32 by default on Ampere and later, so benchmarks should report which was used.
    pub fn set_tf32(&self, on: bool) -> Result<()> {
        let mode = if on {
            cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
        } else {
            cublasMath_t::CUBLAS_DEFAULT_MATH
        };
        // SAFETY: the handle is live for as long as `self.blas`.
        let st = unsafe { cublasSetMathMode(*self.blas()?.handle(), mode) };
        if st == cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            Ok(())
        } else {
            Err(CudaError(format!("cublasSetMathMode: {st:?}")))
        }
    }

    /// Sets the arithmetic of every later matmul (TF32 switches cuBLAS's math mode; bf16 routes
    /// matmuls through [`super::launch::gemm::gemm_bf16`]).
    pub fn set_precision(&self, p: GemmPrecision) -> Result<()> {
        self.set_tf32(p == GemmPrecision::Tf32)?;
        let i = match p {
            GemmPrecision::Fp32 => 0,
            GemmPrecision::Tf32 => 1,
            GemmPrecision::Bf16 => 2,
        };
        self.precision
            .store(i, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub fn precision(&self) -> GemmPrecision {
        match self.precision.load(std::sync::atomic::Ordering::Relaxed) {
            1 => GemmPrecision::Tf32,
            2 => GemmPrecision::Bf16,
            _ => GemmPrecision::Fp32,
        }
    }

    /// Host -> device copy.
    pub fn upload(&self, host: &[f32]) -> Result<CudaSlice<f32>> {
        Ok(self.stream.clone_htod(host)?)
    }

    /// Device -> host copy (synchronises the stream).
    pub fn download(&self, dev: &CudaSlice<f32>) -> Result<Vec<f32>> {
        Ok(self.stream.clone_dtoh(dev)?)
    }

    /// A zero-filled device buffer.
    pub fn zeros(&self, n: usize) -> Result<CudaSlice<f32>> {
        Ok(self.stream.alloc_zeros::<f32>(n)?)
    }

    pub fn synchronize(&self) -> Result<()> {
        Ok(self.stream.synchronize()?)
    }
}

/// The CUDA versions the driver supports and NVRTC implements, as (major, minor).
#[derive(Clone, Copy, Debug)]
struct Versions {
    driver: Option<(i32, i32)>,
    nvrtc: Option<(i32, i32)>,
}

impl Versions {
    fn probe() -> Self {
        let mut v = 0i32;
        // SAFETY: writes one int through a valid pointer; the driver library is loaded (the
        // context exists).
        let ok = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) }
            == cudarc::driver::sys::CUresult::CUDA_SUCCESS;
        Versions {
            driver: ok.then_some((v / 1000, (v % 1000) / 10)),
            nvrtc: super::detect::nvrtc_version(),
        }
    }

    fn describe(&self) -> String {
        let show = |v: Option<(i32, i32)>| v.map_or("?".to_string(), |(a, b)| format!("{a}.{b}"));
        let mut s = format!(
            "driver CUDA {}, NVRTC {}",
            show(self.driver),
            show(self.nvrtc)
        );
        if let (Some(d), Some(n)) = (self.driver, self.nvrtc) {
            if n > d {
                s += " — NVRTC is newer than the driver: its PTX would not load, CUBIN is used";
            }
        }
        s
    }
}
