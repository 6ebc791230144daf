//! `koopman concat`: D4RL-layout datasets one after another in a new `.npz`, e.g. a medium and an
//! expert set into medium-expert, as D4RL made it.
use crate::data::{self, dataset};
use crate::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConcatArgs {
    /// The datasets, in order (.npz, .hdf5): e.g. medium.npz expert.npz for medium-expert
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The concatenation (.npz, written atomically)
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: &ConcatArgs) -> Result<()> {
    let loaded = a
        .files
        .iter()
        .map(|f| Ok((f.display().to_string(), data::load(f)?)))
        .collect::<Result<Vec<_>>>()?;
    let parts: Vec<(&str, &data::Dataset)> = loaded.iter().map(|(f, d)| (f.as_str(), d)).collect();
    let cat = dataset::concat(&parts)?;
    for key in &cat.dropped {
        eprintln!("note: `{key}` left out: not every file has it");
    }
    data::npz::write(&a.out, &cat.data)?;
    let episodes = |d: &data::Dataset| d.episodes().len();
    for (f, d) in &parts {
        println!("{f}: {} transitions, {} episodes", d.len(), episodes(d));
    }
    println!(
        "wrote {}: {} transitions, {} episodes",
        a.out.display(),
        cat.data.len(),
        episodes(&cat.data)
    );
    Ok(())
}
