//! `host-bench link-order`: how much of the start-order list
//! (`host/link-order.txt`) the built host still has.
//!
//! A stale list costs start-up time (the functions a start runs are no
//! longer packed together), it does not make the host wrong, so this is a
//! benchmark figure rather than a test: a dependency update or a larger
//! edit renames some functions, and the figure says when to run
//! `scripts/link-order.sh` again. Names are compared without LLVM's
//! `.llvm.<hash>` suffix, which changes with any edit of a codegen unit.

use std::collections::HashSet;

use anyhow::Result;
use wasm_lambda_tests::link_order::{functions, listed, without_llvm_suffix};

use crate::summary::{self, Line, Target};

/// Below this share of the list found, re-record it.
const FRESH_ENOUGH_PERCENT: f64 = 95.0;

/// Reports the share of listed functions the host binary beside this one has.
///
/// # Errors
/// `nm` cannot read the host binary, or the summary cannot be saved.
pub fn bench() -> Result<()> {
    let host = crate::beside_this_binary("wasm-lambda-host")?;
    let present: HashSet<String> = functions(&host)?
        .keys()
        .map(|name| without_llvm_suffix(name).to_owned())
        .collect();
    let listed = listed();
    let missing: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|name| !present.contains(without_llvm_suffix(name)))
        .collect();
    let found = 100.0 * (listed.len() - missing.len()) as f64 / listed.len().max(1) as f64;
    println!(
        "\n## start-order list: {} of {} listed functions in this build ({found:.1}%)\n",
        listed.len() - missing.len(),
        listed.len()
    );
    if found < FRESH_ENOUGH_PERCENT {
        println!(
            "stale: run scripts/link-order.sh and commit host/link-order.txt; missing for example {:?}",
            &missing[..missing.len().min(5)]
        );
    }
    summary::record(
        "link-order",
        &[Line::alone(
            "start-order list: listed functions found in this build",
            found,
            "%",
            Target::AtLeast(FRESH_ENOUGH_PERCENT),
        )],
    )
}
