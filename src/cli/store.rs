//! `hookd store copy FROM TO`: an offline copy of a whole store between backends.

use super::output::write_out;
use super::{Failure, StoreCommand};
use crate::store::copy::{self, Location};

/// Runs a `hookd store …` command.
pub fn run(command: StoreCommand) -> Result<(), Failure> {
    match command {
        StoreCommand::Copy { from, to } => {
            let from = Location::parse(&from).map_err(Failure::Usage)?;
            let to = Location::parse(&to).map_err(Failure::Usage)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Failure::Other(format!("cannot start the runtime: {e}")))?;
            let counts = runtime
                .block_on(copy::copy(&from, &to))
                .map_err(Failure::Other)?;
            write_out(counts.lines().as_bytes())
        }
    }
}
