//! Activations: relu, elu, gelu (tanh approximation), tanh, sigmoid, silu.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use super::PAR_MIN;
use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unary {
    Relu,
    Elu,
    Gelu,
    Tanh,
    Sigmoid,
    Silu,
}

impl Unary {
    pub const ALL: [Unary; 6] = [
        Unary::Relu,
        Unary::Elu,
        Unary::Gelu,
        Unary::Tanh,
        Unary::Sigmoid,
        Unary::Silu,
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
        }
    }
}

const CHUNK: usize = 1 << 14;

impl<E: Real> Tape<'_, E> {
    pub fn unary(&mut self, x: Var, kind: Unary) -> Var {
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::unary(self, x, kind);
        }
        let shape = self.shape(x);
        let mut y = self.alloc_uninit(shape.numel());
        let xv = self.value(x);
        if xv.len() >= PAR_MIN {
            y.par_chunks_mut(CHUNK)
                .zip(xv.par_chunks(CHUNK))
                .for_each(|(y, x)| cpu::forward(kind, x, y));
        } else {
            cpu::forward(kind, xv, &mut y);
        }
        self.push(shape, y, Op::Unary { x, kind }, &[x])
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
}

pub(crate) fn backward<E: Real>(t: &Tape<E>, x: Var, kind: Unary, g: &[E], s: &mut Slots<E>) {
    let (mut gx, acc) = s.take_write(x);
    if let Some(gx) = gx.as_deref_mut() {
        let xv = t.value(x);
        if xv.len() >= PAR_MIN {
            gx.par_chunks_mut(CHUNK)
                .zip(xv.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
                .for_each(|(d, (x, g))| cpu::backward_acc(kind, x, g, d, acc));
        } else {
            cpu::backward_acc(kind, xv, g, gx, acc);
        }
    }
    s.put(x, gx);
}
