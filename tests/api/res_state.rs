//! The state resources against the simulated node.

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

/// The sample request of each state operation.
pub fn samples(_h: &Harness, _s: &Sample) -> Vec<SampleRequest> {
    Vec::new()
}
