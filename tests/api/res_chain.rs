//! The chain resources against the simulated node.

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

/// The sample request of each chain operation.
pub fn samples(_h: &Harness, _s: &Sample) -> Vec<SampleRequest> {
    Vec::new()
}
