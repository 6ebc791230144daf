//! Per-op wall time of CPU tapes: where a training step or a rollout spends its time, by op and
//! output shape (`koopman bench --profile`). A forward op is timed from the previous node's push to
//! its own (ops compute, then push), a backward op around its gradient rule, so the rows add up to
//! the step. CUDA tapes are not timed here: launches are asynchronous, so host time says nothing.
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Forward,
    Backward,
    /// Work outside the tape: gradient clipping, the optimiser update.
    Update,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Forward => "fwd",
            Phase::Backward => "bwd",
            Phase::Update => "update",
        }
    }
}

/// One row of the report: an op (or update stage) at one output shape.
#[derive(Clone, Debug)]
pub struct ProfileRow {
    pub phase: Phase,
    pub op: &'static str,
    pub shape: Vec<usize>,
    pub calls: u64,
    pub time: Duration,
}

#[derive(Clone, Default, Debug)]
pub struct OpProfile {
    rows: HashMap<(Phase, &'static str, Vec<usize>), (u64, Duration)>,
    /// When the last forward node was pushed (the start of the next forward op).
    last: Option<Instant>,
}

impl OpProfile {
    /// Starts the forward clock (a new tape: its first op is timed from here).
    pub fn start_forward(&mut self) {
        self.last = Some(Instant::now());
    }

    /// A forward node was pushed now: it took the time since the previous push.
    pub(crate) fn forward_pushed(&mut self, op: &'static str, shape: &[usize]) {
        let now = Instant::now();
        if let Some(t0) = self.last.replace(now) {
            self.add(Phase::Forward, op, shape, now - t0);
        }
    }

    pub fn add(&mut self, phase: Phase, op: &'static str, shape: &[usize], time: Duration) {
        let e = self
            .rows
            .entry((phase, op, shape.to_vec()))
            .or_insert((0, Duration::ZERO));
        e.0 += 1;
        e.1 += time;
    }

    pub fn total(&self) -> Duration {
        self.rows.values().map(|r| r.1).sum()
    }

    /// Rows, slowest first.
    pub fn rows(&self) -> Vec<ProfileRow> {
        let mut rows: Vec<ProfileRow> = self
            .rows
            .iter()
            .map(|((phase, op, shape), &(calls, time))| ProfileRow {
                phase: *phase,
                op,
                shape: shape.clone(),
                calls,
                time,
            })
            .collect();
        rows.sort_by(|a, b| b.time.cmp(&a.time).then(a.op.cmp(b.op)));
        rows
    }

    /// Time per phase and op kind, all shapes together, slowest first.
    pub fn by_op(&self) -> Vec<(Phase, &'static str, Duration)> {
        let mut sums: HashMap<(Phase, &'static str), Duration> = HashMap::new();
        for ((phase, op, _), &(_, t)) in &self.rows {
            *sums.entry((*phase, op)).or_default() += t;
        }
        let mut v: Vec<_> = sums.into_iter().map(|((p, o), t)| (p, o, t)).collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)));
        v
    }

    /// A table of the `top` slowest rows with their share of the total, per `steps` steps.
    pub fn report(&self, steps: usize, top: usize) -> String {
        let total = self.total().as_secs_f64().max(1e-12);
        let per = |t: Duration| t.as_secs_f64() * 1e3 / steps.max(1) as f64;
        let mut out = format!(
            "profile: {:.1} ms per step over {steps} steps (CPU wall time by op)\n",
            total * 1e3 / steps.max(1) as f64
        );
        out += "  by op:";
        for (phase, op, t) in self.by_op().into_iter().take(12) {
            out += &format!(
                " {} {op} {:.1}%,",
                phase.name(),
                100.0 * t.as_secs_f64() / total
            );
        }
        out.pop();
        out.push('\n');
        out += &format!(
            "  {:<7} {:<12} {:<20} {:>6} {:>10} {:>7}\n",
            "phase", "op", "output shape", "calls", "ms/step", "share"
        );
        for r in self.rows().into_iter().take(top) {
            out += &format!(
                "  {:<7} {:<12} {:<20} {:>6} {:>10.2} {:>6.1}%\n",
                r.phase.name(),
                r.op,
                format!("{:?}", r.shape),
                r.calls / steps.max(1) as u64,
                per(r.time),
                100.0 * r.time.as_secs_f64() / total
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_aggregate_by_phase_op_and_shape() {
        let mut p = OpProfile::default();
        p.add(Phase::Forward, "matmul", &[4, 8], Duration::from_millis(3));
        p.add(Phase::Forward, "matmul", &[4, 8], Duration::from_millis(1));
        p.add(Phase::Backward, "matmul", &[4, 8], Duration::from_millis(5));
        p.add(Phase::Forward, "unary", &[4, 8], Duration::from_millis(2));
        let rows = p.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].phase, rows[0].op), (Phase::Backward, "matmul"));
        assert_eq!((rows[1].calls, rows[1].time), (2, Duration::from_millis(4)));
        assert_eq!(p.total(), Duration::from_millis(11));
        assert_eq!(p.by_op()[0].2, Duration::from_millis(5));
        let text = p.report(1, 10);
        assert!(text.contains("11.0 ms per step"), "{text}");
    }
}
