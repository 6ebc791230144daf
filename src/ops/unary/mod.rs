//! Element-wise functions: the activations relu, elu, gelu (tanh approximation), tanh, sigmoid,
//! silu, and exp and softplus (SAC's tanh-Gaussian policy: σ = exp(log σ), log(1 − tanh²u) =
//! 2(log 2 − u − softplus(−2u))).
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unary {
    Relu,
    Elu,
    Gelu,
    Tanh,
    Sigmoid,
    Silu,
    Exp,
    /// log(1 + eˣ), computed as max(x, 0) + log(1 + e^−|x|) so no input overflows.
    Softplus,
}

impl Unary {
    pub const ALL: [Unary; 8] = [
        Unary::Relu,
        Unary::Elu,
        Unary::Gelu,
        Unary::Tanh,
        Unary::Sigmoid,
        Unary::Silu,
        Unary::Exp,
        Unary::Softplus,
    ];
    pub fn parse(name: &str) -> Option<Unary> {
        Unary::ALL.into_iter().find(|u| u.name() == name)
    }
    pub fn name(self) -> &'static str {
        match self {
            Unary::Relu => "relu",
            Unary::Elu => "elu",
            Unary::Gelu => "gelu",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Silu => "silu",
            Unary::Exp => "exp",
            Unary::Softplus => "softplus",
        }
    }
    /// Whether the derivative is taken from the output y (tanh: 1 − y², sigmoid: y(1 − y), exp: y)
    /// rather than the input x: one rule for every device.
    pub fn uses_output(self) -> bool {
        matches!(self, Unary::Tanh | Unary::Sigmoid | Unary::Exp)
    }
}

/// The activation kernels of a backend.
pub trait UnaryKernel: Backend {
    /// y = f(x) over `n` elements.
    fn unary_fwd(&self, kind: Unary, x: &Self::Buf, y: &mut Self::Buf, n: usize) -> Result<()>;
    /// dx (+)= dy · f'(·) over `n` elements, from `xy` = x or y as [`Unary::uses_output`] says;
    /// overwrites dx when `acc` is false.
    fn unary_bwd(
        &self,
        kind: Unary,
        xy: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        n: usize,
        acc: bool,
    ) -> Result<()>;
}

impl<B: UnaryKernel> Tape<'_, B> {
    /// Infallible: a device failure is recorded on the tape (`push_or_fault`).
    pub fn unary(&mut self, x: Var, kind: Unary) -> Var {
        let shape = self.shape(x);
        let run = |t: &mut Self| -> Result<B::Buf> {
            let mut y = t.alloc(shape.numel())?;
            t.backend()
                .unary_fwd(kind, t.buf(x)?, &mut y, shape.numel())?;
            Ok(y)
        };
        let y = run(self);
        self.push_or_fault(shape, y, UnaryRule { x, kind }, &[x])
    }
    pub fn relu(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Relu)
    }
    pub fn elu(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Elu)
    }
    pub fn gelu(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Gelu)
    }
    pub fn tanh(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Tanh)
    }
    pub fn sigmoid(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Sigmoid)
    }
    pub fn silu(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Silu)
    }
    pub fn exp(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Exp)
    }
    pub fn softplus(&mut self, x: Var) -> Var {
        self.unary(x, Unary::Softplus)
    }
}

struct UnaryRule {
    x: Var,
    kind: Unary,
}

impl<B: UnaryKernel> Backward<B> for UnaryRule {
    fn name(&self) -> &'static str {
        "unary"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (gx, acc) = s.take_write(self.x)?;
        if let Some(mut gx) = gx {
            let xy = t.buf(if self.kind.uses_output() { y } else { self.x })?;
            let n = t.shape(self.x).numel();
            s.backend().unary_bwd(self.kind, xy, g, &mut gx, n, acc)?;
            s.put(self.x, Some(gx))?;
        }
        Ok(())
    }
}
