//! The miner's storage routes: the sample request of each operation with parameters, and their own tests.

use crate::common::Harness;
use crate::table::SampleRequest;

/// The sample request of each of this module's operations that has path parameters or a body.
pub fn samples(_h: &Harness) -> Vec<SampleRequest> {
    Vec::new()
}
