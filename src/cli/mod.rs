//! The `koopman` command line: one file per subcommand, plus the pieces `bench` is built from.
pub mod bench;
pub mod host;
pub mod oscillator;
pub mod peak_rss;
pub mod planner_latency;
pub mod train_speed;
