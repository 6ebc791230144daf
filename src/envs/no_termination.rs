//! Gymnasium's `terminate_when_unhealthy=False` for any task: the episode runs to its step limit
//! whatever the state. Hopper and Walker2d under a random policy fall within ~20 steps, so without
//! this they give no 100-step prediction windows; with it they give 1000-step episodes of the same
//! physics (a fallen robot included), the rewards unchanged (the healthy bonus still needs health).
use super::{Env, Spec};

pub struct NoTermination(pub Box<dyn Env>);

impl Env for NoTermination {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn spec(&self) -> Spec {
        self.0.spec()
    }
    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        self.0.reset_into(seed, obs)
    }
    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        let (reward, _, truncated) = self.0.step_into(action, obs);
        (reward, false, truncated)
    }
    fn take_error(&mut self) -> Option<String> {
        self.0.take_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that terminates at its second step.
    struct Falls(u32);
    impl Env for Falls {
        fn name(&self) -> &'static str {
            "falls"
        }
        fn spec(&self) -> Spec {
            Spec {
                obs_dim: 1,
                act_dim: 1,
            }
        }
        fn reset_into(&mut self, _: u64, obs: &mut [f32]) {
            self.0 = 0;
            obs[0] = 0.0;
        }
        fn step_into(&mut self, _: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
            self.0 += 1;
            obs[0] = self.0 as f32;
            (1.0, self.0 >= 2, self.0 >= 5)
        }
    }

    #[test]
    fn runs_to_the_step_limit() {
        let mut e = NoTermination(Box::new(Falls(0)));
        let mut obs = [0.0];
        e.reset_into(0, &mut obs);
        let steps: Vec<_> = (0..5).map(|_| e.step_into(&[0.0], &mut obs)).collect();
        assert!(steps.iter().all(|s| !s.1), "never terminates: {steps:?}");
        assert_eq!(steps[4], (1.0, false, true));
        assert_eq!(obs[0], 5.0);
    }
}
