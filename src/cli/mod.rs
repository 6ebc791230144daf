//! The `koopman` command line: one file per subcommand.
pub mod oscillator;
