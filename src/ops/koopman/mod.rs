//! The Koopman ops on planar complex data (`[Re ‖ Im]` in the last axis):
//! - `zoh`: ZOH discretisation λ̄ = exp(λΔt) and input gain b = (λ̄ − 1)/λ;
//! - `vandermonde`: V[i, k] = λ̄_i^k in closed form;
//! - `cmul`: complex product with broadcasting (the gain applied to encoded actions);
//! - `scan`: the sequential recurrence x̂_{k+1} = λ̄ ⊙ x̂_k + c_k;
//! - `cconv`: the same rollout as free response V·x₀ plus a causal convolution (paper Eq. 9).
//!
//! Gradients follow the convention G = ∂L/∂Re + i·∂L/∂Im (see `notes/model-math.md` §6).
pub mod cconv;
pub mod cmul;
pub mod scan;
pub mod vandermonde;
pub mod zoh;
