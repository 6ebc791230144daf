//! The "random" that smoke runs must beat: uniform random actions in [−1, 1], each held for the
//! action repeat, as the runner's seed episodes hold them.
use koopman::util::rng::Rng;

struct HeldRandom {
    rng: Rng,
    repeat: usize,
    held: Vec<f32>,
}

impl koopman::experiment::Behaviour for HeldRandom {
    fn begin_episode(&mut self) -> koopman::Result<()> {
        Ok(())
    }
    fn act(&mut self, _obs: &[f32], t: usize, a: &mut [f32]) -> koopman::Result<()> {
        if t.is_multiple_of(self.repeat) || self.held.len() != a.len() {
            self.held = (0..a.len())
                .map(|_| self.rng.range(-1.0, 1.0) as f32)
                .collect();
        }
        a.copy_from_slice(&self.held);
        Ok(())
    }
}

/// The mean return of held random actions on `task` over 10 episodes (seed 99).
pub fn random_return(task: &str, repeat: usize) -> f64 {
    let mut random = HeldRandom {
        rng: Rng::new(99),
        repeat,
        held: Vec::new(),
    };
    let (episodes, mut total) = (10, 0.0);
    koopman::experiment::collect_each_with(task, &mut random, episodes, 99, true, |ep| {
        total += ep.rewards.iter().map(|r| *r as f64).sum::<f64>();
        Ok(())
    })
    .unwrap();
    total / episodes as f64
}
